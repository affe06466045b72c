/**
 * The webapp's boot through its own data layer: mattermost-redux's loadMe against a running
 * Switchboard, every call it makes answered as Mattermost answers it, and the store holding
 * what the webapp reads next (me, my teams, preferences, roles with their permissions,
 * the licence and the client config).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as UsersActions from "mattermost-redux/actions/users";
import { startStack, type Stack } from "@switchboard/testkit";
import { newUser, type TestUser } from "../support.js";
import { redux, webappSession, type WebappSession } from "./webapp-store.js";

const usersActions = redux<typeof UsersActions>("mattermost-redux/actions/users");

let stack: Stack;
let url: string;
let alice: TestUser;
let web: WebappSession;

beforeAll(async () => {
  stack = await startStack();
  [url] = stack.gatewayUrls as [string];
  alice = await newUser(url, "alice");
  web = await webappSession(url, alice.username, "password-1");
});

afterAll(async () => {
  await stack?.stop();
});

describe("loadMe", () => {
  it("makes its calls and fills the store", async () => {
    const from = web.calls.length;
    const r = await web.dispatch<{ data?: boolean; error?: unknown }>(usersActions.loadMe());
    expect(r.data).toBe(true);
    // Every call loadMe makes (mattermost-redux 11.9.0 actions/users.js loadMe, getMe's
    // loadRolesIfNeeded, getMyTeamMembers' roles of the memberships).
    expect(
      web
        .since(from)
        .map((c) => `${c.method} ${c.path.replace(/\?.*$/, "")}`)
        .sort(),
    ).toEqual(
      [
        "GET /api/v4/config/client",
        "GET /api/v4/license/client",
        "GET /api/v4/users/me",
        "GET /api/v4/users/me/preferences",
        "GET /api/v4/users/me/teams",
        "GET /api/v4/users/me/teams/members",
        "GET /api/v4/users/me/teams/unread",
        "GET /api/v4/limits/server",
        "POST /api/v4/roles/names",
      ].sort(),
    );
  });
});
