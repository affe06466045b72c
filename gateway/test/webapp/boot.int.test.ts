/**
 * The webapp's boot through its own data layer: mattermost-redux's loadMe against a running
 * Switchboard, every call it makes answered as Mattermost answers it, and the store holding
 * what the webapp reads next (me, roles with their permissions, the licence, the limits).
 * Each boot route is also compared with its golden fixture, bad input included.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as RolesActions from "mattermost-redux/actions/roles";
import type * as UsersActions from "mattermost-redux/actions/users";
import { startStack, type Stack } from "@switchboard/testkit";
import { call, goldenDiffs } from "../golden-check.js";
import { newUser, type TestUser } from "../support.js";
import { redux, webappSession, type WebappSession } from "./webapp-store.js";

const usersActions = redux<typeof UsersActions>("mattermost-redux/actions/users");
const rolesActions = redux<typeof RolesActions>("mattermost-redux/actions/roles");

// Routes whose data the posts service owns (team memberships and unreads): served by the
// posts-side REST routes, not checked here.
const POSTS_OWNED = new Set(["GET /api/v4/users/me/teams/members", "GET /api/v4/users/me/teams/unread"]);

let stack: Stack;
let url: string;
let admin: TestUser;
let alice: TestUser;
let web: WebappSession;

beforeAll(async () => {
  stack = await startStack();
  [url] = stack.gatewayUrls as [string];
  admin = await newUser(url, "admin"); // the first user is the system admin
  alice = await newUser(url, "alice");
  web = await webappSession(url, alice.username, "password-1");
});

afterAll(async () => {
  await stack?.stop();
});

describe("loadMe", () => {
  it("makes its calls, each answered with success, and fills the store", async () => {
    const from = web.calls.length;
    const r = await web.dispatch<{ data?: boolean; error?: unknown }>(usersActions.loadMe());
    expect(r.data).toBe(true);
    const calls = web.since(from).map((c) => ({ ...c, route: `${c.method} ${c.path.replace(/\?.*$/, "")}` }));
    // Every call loadMe makes (mattermost-redux 11.9.0 actions/users.js loadMe, getMe's
    // loadRolesIfNeeded, getMyTeamMembers' roles of the memberships).
    expect(calls.map((c) => c.route).sort()).toEqual(
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
    expect(calls.filter((c) => !POSTS_OWNED.has(c.route) && c.status !== 200)).toEqual([]);

    const s = web.store.getState();
    expect(s.entities.users.currentUserId).toBe(alice.id);
    expect(s.entities.users.profiles[alice.id]?.username).toBe(alice.username);
    expect(s.entities.general.license).toEqual({ IsLicensed: "false" });
    expect(s.entities.general.config.Version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(s.entities.roles.roles.system_user?.permissions).toEqual(expect.arrayContaining(["create_direct_channel", "create_team"]));
    expect(s.entities.limits.serverLimits).toMatchObject({ maxUsersLimit: 0, postHistoryLimit: 0 });
  });

  it("loads the team and channel roles the post box and menus are decided by", async () => {
    const r = await web.dispatch<{ data?: unknown[]; error?: unknown }>(rolesActions.getRolesByNames(["team_user", "channel_user", "channel_admin", "nobody"]));
    expect(r.error).toBeUndefined();
    const roles = web.store.getState().entities.roles.roles;
    expect(roles.channel_user?.permissions).toEqual(expect.arrayContaining(["create_post", "add_reaction", "edit_post", "delete_post", "upload_file"]));
    expect(roles.team_user?.permissions).toEqual(expect.arrayContaining(["view_team", "create_public_channel"]));
    expect(roles.channel_admin?.permissions).toContain("manage_channel_roles");
    expect(roles.nobody).toBeUndefined();
  });
});

describe("boot routes against their golden fixtures", () => {
  const teamId = "8xk1bq9d7fgw3c5hxa6y4p2tno";
  it.each([
    ["roles-names", "POST", "/api/v4/roles/names", { body: ["system_user", "team_user", "channel_user"] }],
    ["roles-names-empty", "POST", "/api/v4/roles/names", { body: [] }],
    ["roles-names-empty", "POST", "/api/v4/roles/names", { raw: "{not json" }],
    ["roles-names-invalid", "POST", "/api/v4/roles/names", { body: ["System User!"] }],
    ["users-me", "GET", "/api/v4/users/me", {}],
    ["license-client", "GET", "/api/v4/license/client?format=old", { anonymous: true }],
    ["config-client", "GET", "/api/v4/config/client?format=old", {}],
    ["limits-server", "GET", "/api/v4/limits/server", {}],
    ["plugins-webapp", "GET", "/api/v4/plugins/webapp", {}],
    ["notices", "GET", `/api/v4/system/notices/${teamId}?client=web&clientVersion=11.9.0`, {}],
    ["notices-bad-client", "GET", `/api/v4/system/notices/${teamId}?client=toaster`, {}],
    ["notices-view", "PUT", "/api/v4/system/notices/view", { body: ["notice1"] }],
    ["notices-view-malformed", "PUT", "/api/v4/system/notices/view", { raw: "{not json" }],
    ["unauthenticated", "POST", "/api/v4/roles/names", { anonymous: true, body: ["system_user"] }],
  ] as const)("%s (%s %s)", async (name, method, path, o: { body?: unknown; raw?: string; anonymous?: boolean }) => {
    const a = await call(url, method, path, { ...o, ...(o.anonymous ? {} : { token: alice.token }) });
    expect(goldenDiffs("boot", name, a)).toEqual([]);
  });

  it("the client config explains each key whose answer is not Mattermost's stock one", async () => {
    const fixture = JSON.parse(readFileSync(new URL("../golden/boot/config-client.json", import.meta.url), "utf8")) as {
      body: Record<string, string>;
      exact: string[];
      differences: Record<string, string>;
    };
    const sent = (await call(url, "GET", "/api/v4/config/client?format=old", { token: alice.token })).body as Record<string, string>;
    const exact = new Set(fixture.exact.map((p) => p.slice(2)));
    // Each key of the v11 type is either answered with the stock value (exact) or explained.
    for (const key of Object.keys(fixture.body)) {
      const why = fixture.differences[key];
      if (exact.has(key)) {
        expect(why, key).toBeUndefined();
        expect(sent[key], key).toBe(fixture.body[key]);
      } else if (key in sent) expect(why, key).toMatch(/^sent, value differs: /);
      else expect(why, key).toMatch(/^absent: /);
    }
    expect(Object.keys(fixture.differences).filter((k) => !(k in fixture.body))).toEqual([]);
  });

  it("the system admin's role holds every permission", async () => {
    const a = await call(url, "POST", "/api/v4/roles/names", { token: admin.token, body: ["system_admin"] });
    expect(goldenDiffs("boot", "roles-names", a)).toEqual([]);
    expect((a.body as { permissions: string[] }[])[0]!.permissions).toEqual(
      expect.arrayContaining(["manage_system", "create_post", "sysconsole_read_plugins"]),
    );
  });
});
