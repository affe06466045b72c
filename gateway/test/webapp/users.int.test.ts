/**
 * User lists as the webapp asks for them: by team, not in a team, by channel, not in a channel,
 * by ids and usernames, paged, and autocomplete; membership from posts, users from accounts.
 * Each answer against its golden fixture, the webapp's store after each action, and bad
 * input answered as Mattermost answers it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as UsersActions from "mattermost-redux/actions/users";
import { startStack, type Stack } from "@switchboard/testkit";
import { call, goldenDiffs } from "../golden-check.js";
import { newUser, type TestUser } from "../support.js";
import { redux, webappSession, type WebappSession } from "./webapp-store.js";

const usersActions = redux<typeof UsersActions>("mattermost-redux/actions/users");

let stack: Stack;
let url: string;
let admin: TestUser;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;
let teamId: string;
let channelId: string;
let web: WebappSession;

const ids = (body: unknown): string[] => (body as { id: string }[]).map((u) => u.id);
const sortedIds = (...users: TestUser[]): string[] => [...users].sort((a, b) => a.username.localeCompare(b.username)).map((u) => u.id);

beforeAll(async () => {
  stack = await startStack();
  [url] = stack.gatewayUrls as [string];
  admin = await newUser(url, "admin");
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
  carol = await newUser(url, "carol");
  dave = await newUser(url, "dave");
  const team = await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never);
  teamId = team.id;
  await alice.client.addToTeam(teamId, bob.id);
  await alice.client.addToTeam(teamId, carol.id);
  const ch = await alice.client.createChannel({ team_id: teamId, name: `users${Date.now()}`, display_name: "Users", type: "O" } as never);
  channelId = ch.id;
  await alice.client.addToChannel(bob.id, channelId);
  web = await webappSession(url, alice.username, "password-1");
  await web.dispatch(usersActions.getMe());
});

afterAll(async () => {
  await stack?.stop();
});

describe("user lists", () => {
  it("answer with the right users, sorted by username and paged, each matching its golden", async () => {
    const t = alice.token;
    const get = async (q: string) => {
      const a = await call(url, "GET", `/api/v4/users?${q}`, { token: t });
      expect(goldenDiffs("users", "list", a), q).toEqual([]);
      return ids(a.body);
    };
    expect(await get(`in_team=${teamId}`)).toEqual(sortedIds(alice, bob, carol));
    expect(await get(`not_in_team=${teamId}`)).toEqual(sortedIds(admin, dave));
    expect(await get(`in_channel=${channelId}`)).toEqual(sortedIds(alice, bob));
    expect(await get(`in_team=${teamId}&not_in_channel=${channelId}`)).toEqual(sortedIds(carol));
    expect(await get("")).toEqual(sortedIds(admin, alice, bob, carol, dave));
    const all = sortedIds(admin, alice, bob, carol, dave);
    expect(await get("page=1&per_page=2")).toEqual(all.slice(2, 4));
    expect(await get("page=2&per_page=2")).toEqual(all.slice(4));
    // A page that is not a number is the first page (web/params.go).
    expect(await get("page=x&per_page=2")).toEqual(all.slice(0, 2));
    expect(goldenDiffs("users", "list-empty", await call(url, "GET", "/api/v4/users?page=9999", { token: t }))).toEqual([]);

    const byIds = await call(url, "POST", "/api/v4/users/ids", { token: t, body: [bob.id, carol.id, "8xk1bq9d7fgw3c5hxa6y4p2tno"] });
    expect(goldenDiffs("users", "ids", byIds)).toEqual([]);
    expect(ids(byIds.body).sort()).toEqual([bob.id, carol.id].sort());
    const byNames = await call(url, "POST", "/api/v4/users/usernames", { token: t, body: [bob.username, "nobody-here"] });
    expect(goldenDiffs("users", "usernames", byNames)).toEqual([]);
    expect(ids(byNames.body)).toEqual([bob.id]);
  });

  it("autocomplete: by name in a team, and in and out of a channel", async () => {
    const t = alice.token;
    const a = await call(url, "GET", `/api/v4/users/autocomplete?in_team=${teamId}&in_channel=${channelId}&name=${bob.username.slice(0, 5)}`, { token: t });
    expect(goldenDiffs("users", "autocomplete", a)).toEqual([]);
    const body = a.body as { users: { id: string }[]; out_of_channel: { id: string }[] };
    expect(body.users.map((u) => u.id)).toEqual([bob.id]);
    expect(body.out_of_channel).toEqual([]);
    const c = await call(url, "GET", `/api/v4/users/autocomplete?in_team=${teamId}&in_channel=${channelId}&name=carol`, { token: t });
    expect((c.body as typeof body).out_of_channel.map((u) => u.id)).toEqual([carol.id]);
    const team = await call(url, "GET", `/api/v4/users/autocomplete?in_team=${teamId}&name=`, { token: t });
    expect(goldenDiffs("users", "autocomplete", team)).toEqual([]);
    expect(ids((team.body as typeof body).users)).toEqual(sortedIds(alice, bob, carol));
    // LIKE's wildcards are plain characters in a name.
    const wild = await call(url, "GET", `/api/v4/users/autocomplete?name=%25`, { token: t });
    expect((wild.body as typeof body).users).toEqual([]);
  });

  it("the webapp's store holds what each action fetched", async () => {
    await web.dispatch(usersActions.getProfilesInTeam(teamId, 0, 60));
    let s = web.store.getState().entities.users;
    expect([...(s.profilesInTeam[teamId] ?? [])].sort()).toEqual([alice.id, bob.id, carol.id].sort());
    await web.dispatch(usersActions.getProfilesNotInChannel(teamId, channelId, false, 0, 60));
    s = web.store.getState().entities.users;
    expect([...(s.profilesNotInChannel[channelId] ?? [])]).toEqual([carol.id]);
    await web.dispatch(usersActions.getProfilesInChannel(channelId, 0, 60));
    s = web.store.getState().entities.users;
    expect([...(s.profilesInChannel[channelId] ?? [])].sort()).toEqual([alice.id, bob.id].sort());
    await web.dispatch(usersActions.getProfilesByUsernames([dave.username]));
    expect(web.store.getState().entities.users.profiles[dave.id]?.username).toBe(dave.username);
    const r = await web.dispatch<{ data?: { users: unknown[] } }>(usersActions.autocompleteUsers("dav", "", ""));
    expect(ids(r.data?.users)).toEqual([dave.id]);
  });

  it("bad input and refusals: Mattermost's status and error", async () => {
    const t = dave.token; // in no team
    const outsider = "8xk1bq9d7fgw3c5hxa6y4p2tno";
    const cases: [string, string, string, unknown?][] = [
      ["not-in-channel-without-team", "GET", `/api/v4/users?not_in_channel=${channelId}`],
      ["bad-sort", "GET", "/api/v4/users?sort=shoe_size"],
      ["bad-sort", "GET", `/api/v4/users?sort=create_at&in_channel=${channelId}`],
      ["no-permission", "GET", `/api/v4/users?in_team=${teamId}`],
      ["no-permission", "GET", `/api/v4/users?in_team=${outsider}`],
      ["no-permission", "GET", `/api/v4/users?not_in_team=${teamId}`],
      ["no-permission", "GET", `/api/v4/users?in_channel=${outsider}`],
      ["no-permission", "GET", `/api/v4/users/autocomplete?in_team=${teamId}&name=a`],
      ["autocomplete-missing-team", "GET", `/api/v4/users/autocomplete?in_channel=${channelId}&name=a`],
      ["ids-empty", "POST", "/api/v4/users/ids", []],
      ["usernames-empty", "POST", "/api/v4/users/usernames", []],
      ["usernames-empty", "POST", "/api/v4/users/usernames", { not: "a list" }],
    ];
    for (const [name, method, path, body] of cases) {
      const a = await call(url, method, path, { token: t, ...(body !== undefined ? { body } : {}) });
      expect(goldenDiffs("users", name, a), `${name} ${path}`).toEqual([]);
    }
    const bad = await call(url, "GET", "/api/v4/users?in_team=not-an-id", { token: t });
    expect(bad.status).toBe(400);
  });
});
