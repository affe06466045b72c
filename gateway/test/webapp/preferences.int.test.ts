/**
 * Preferences through the webapp's data layer and the stock clients: saved and deleted in
 * accounts, the store updated after each action, `preferences_changed` / `preferences_deleted`
 * delivered to every session of the user and to no one else, every route against its golden
 * fixture, and bad input answered as Mattermost answers it with nothing written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as PreferencesActions from "mattermost-redux/actions/preferences";
import type * as UsersActions from "mattermost-redux/actions/users";
import { rowCounts, startStack, waitFor, type Stack } from "@switchboard/testkit";
import { call, goldenDiffs } from "../golden-check.js";
import { connect, newUser, type Recorder, type TestUser, type WsMessage } from "../support.js";
import { redux, webappSession, type WebappSession } from "./webapp-store.js";

const prefActions = redux<typeof PreferencesActions>("mattermost-redux/actions/preferences");
const usersActions = redux<typeof UsersActions>("mattermost-redux/actions/users");

let stack: Stack;
let url: string;
let url2: string;
let alice: TestUser;
let aliceOther: TestUser;
let bob: TestUser;
let web: WebappSession;
const open: Recorder[] = [];
const TABLES = ["accounts.preferences", "accounts.outbox"];

const prefsOf = (m: WsMessage): unknown => JSON.parse(String(m.data?.preferences));

beforeAll(async () => {
  stack = await startStack({ gateways: 2 });
  [url, url2] = stack.gatewayUrls as [string, string];
  await newUser(url, "admin"); // the first user is the system admin: not these
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
  // The webapp's own login: a second session of alice.
  web = await webappSession(url, alice.username, "password-1");
  aliceOther = { ...alice, token: web.token };
  await web.dispatch(usersActions.getMe());
});

afterAll(async () => {
  for (const r of open) r.close();
  await stack?.stop();
});

describe("preferences", () => {
  it("save and delete update the store, and reach the user's other session (on another gateway), not another user", async () => {
    const mine = await connect(url, alice.token);
    // The user's other session is on the other gateway.
    const other = await connect(url2, aliceOther.token);
    const bobs = await connect(url, bob.token);
    open.push(mine, other, bobs);

    const pref = { user_id: alice.id, category: "display_settings", name: "use_military_time", value: "true" };
    // savePreferences updates the store first and sends in the background (rolling back on failure).
    const from = web.calls.length;
    const saved = await web.dispatch<{ data?: boolean; error?: unknown }>(prefActions.savePreferences(alice.id, [pref]));
    expect(saved.error).toBeUndefined();
    const put = await waitFor(() => web.since(from).find((c) => c.method === "PUT"), { what: "the save request" });
    expect(put.status).toBe(200);
    expect(web.store.getState().entities.preferences.myPreferences["display_settings--use_military_time"]?.value).toBe("true");

    for (const r of [mine, other]) {
      const ev = await r.next((m) => m.event === "preferences_changed");
      expect(prefsOf(ev)).toEqual([pref]);
      expect(ev.broadcast?.user_id).toBe(alice.id);
    }

    // Read back as the webapp does at boot.
    const fetched = await web.dispatch<{ data?: unknown[] }>(prefActions.getMyPreferences());
    expect(fetched.data).toEqual([pref]);

    const deleted = await web.dispatch<{ data?: boolean; error?: unknown }>(prefActions.deletePreferences(alice.id, [pref]));
    expect(deleted.error).toBeUndefined();
    expect(web.store.getState().entities.preferences.myPreferences["display_settings--use_military_time"]).toBeUndefined();
    for (const r of [mine, other]) {
      const ev = await r.next((m) => m.event === "preferences_deleted");
      expect(prefsOf(ev)).toEqual([pref]);
    }
    expect((await call(url, "GET", "/api/v4/users/me/preferences", { token: alice.token })).body).toEqual([]);

    // Bob hears his own change, and never alice's.
    const bobPref = { user_id: bob.id, category: "display_settings", name: "name_format", value: "nickname_full_name" };
    expect((await call(url, "PUT", "/api/v4/users/me/preferences", { token: bob.token, body: [bobPref] })).status).toBe(200);
    await bobs.next((m) => m.event === "preferences_changed");
    const bobEvents = bobs.events.filter((m) => m.event?.startsWith("preferences_"));
    expect(bobEvents.map((m) => prefsOf(m))).toEqual([[bobPref]]);
  });

  it("each route answers as its golden fixture says", async () => {
    const t = alice.token;
    const pref = { user_id: alice.id, category: "display_settings", name: "use_military_time", value: "true" };
    const golden = async (name: string, method: string, path: string, o: { body?: unknown; raw?: string; token?: string } = {}) =>
      expect(goldenDiffs("preferences", name, await call(url, method, path, { token: t, ...o })), name).toEqual([]);
    await golden("put", "PUT", "/api/v4/users/me/preferences", { body: [pref] });
    await golden("get", "GET", "/api/v4/users/me/preferences");
    await golden("get", "GET", `/api/v4/users/${alice.id}/preferences`);
    await golden("get-category", "GET", "/api/v4/users/me/preferences/display_settings");
    await golden("get-name", "GET", "/api/v4/users/me/preferences/display_settings/name/use_military_time");
    await golden("category-missing", "GET", "/api/v4/users/me/preferences/nothing_here");
    await golden("name-missing", "GET", "/api/v4/users/me/preferences/display_settings/name/nothing_here");
    await golden("other-user", "GET", `/api/v4/users/${bob.id}/preferences`);
    await golden("bad-user-id", "GET", "/api/v4/users/nope/preferences");
    await golden("delete", "POST", "/api/v4/users/me/preferences/delete", { body: [pref] });
  });

  it("bad input: Mattermost's status and error, nothing written", async () => {
    await waitFor(async () => (await rowCounts(stack.db.url, ["accounts.outbox"]))["accounts.outbox"] === 0, { what: "outbox drained" });
    const before = await rowCounts(stack.db.url, TABLES);
    const t = alice.token;
    const mine = { user_id: alice.id, category: "display_settings", name: "x", value: "1" };
    const cases: [string, string, string, { body?: unknown; raw?: string }][] = [
      ["malformed", "PUT", "/api/v4/users/me/preferences", { raw: "{not json" }],
      ["malformed", "PUT", "/api/v4/users/me/preferences", { body: { user_id: alice.id } }],
      ["malformed", "PUT", "/api/v4/users/me/preferences", { body: [{ ...mine, value: 7 }] }],
      ["malformed", "POST", "/api/v4/users/me/preferences/delete", { raw: "[1,2" }],
      // More than a call may carry.
      ["malformed", "PUT", "/api/v4/users/me/preferences", { body: Array.from({ length: 1001 }, (_, i) => ({ ...mine, name: `n${i}` })) }],
      ["set-other-user", "PUT", "/api/v4/users/me/preferences", { body: [mine, { ...mine, user_id: bob.id }] }],
      ["delete-other-user", "POST", "/api/v4/users/me/preferences/delete", { body: [{ ...mine, user_id: bob.id }] }],
      ["other-user", "PUT", `/api/v4/users/${bob.id}/preferences`, { body: [{ ...mine, user_id: bob.id }] }],
      ["invalid-category", "PUT", "/api/v4/users/me/preferences", { body: [mine, { ...mine, category: "c".repeat(33) }] }],
      ["invalid-theme", "PUT", "/api/v4/users/me/preferences", { body: [{ ...mine, category: "theme", value: "not json" }] }],
      ["flagged-unknown-post", "PUT", "/api/v4/users/me/preferences", { body: [{ ...mine, category: "flagged_post", name: "8xk1bq9d7fgw3c5hxa6y4p2tno" }] }],
      ["bad-user-id", "PUT", "/api/v4/users/nope/preferences", { body: [mine] }],
    ];
    for (const [name, method, path, o] of cases) {
      const a = await call(url, method, path, { token: t, ...o });
      expect(goldenDiffs("preferences", name, a), `${name} ${method} ${path}`).toEqual([]);
    }
    expect(await rowCounts(stack.db.url, TABLES)).toEqual(before);
  });
});
