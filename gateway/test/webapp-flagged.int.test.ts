/**
 * Flagged posts (GET users/{id}/posts/flagged) on a real stack: flags saved as flagged_post
 * preferences in accounts, the list served from posts as Mattermost's PostList, newest first,
 * paged, filtered by team or channel, without deleted posts or posts of channels the caller
 * can no longer read; another user's flags are refused and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@switchboard/testkit";
import { newUser, type TestUser } from "./support.js";
import { expectGolden, expectRefusedUnchanged, rest } from "./webapp-support.js";

let stack: Stack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let teamId: string;
let chId: string;
let privId: string;

interface PostList {
  order: string[];
  posts: Record<string, { id: string; message: string }>;
}

const flagged = (u: TestUser, query = "", userId = "me") => rest(url, u.token, "GET", `/api/v4/users/${userId}/posts/flagged${query}`);
const order = async (u: TestUser, query = "") => ((await flagged(u, query)).body as PostList).order;

async function post(u: TestUser, channelId: string, message: string): Promise<string> {
  return (await u.client.createPost({ channel_id: channelId, message })).id;
}

async function flag(u: TestUser, postId: string): Promise<void> {
  const r = await rest(url, u.token, "PUT", "/api/v4/users/me/preferences", [{ user_id: u.id, category: "flagged_post", name: postId, value: "true" }]);
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
  carol = await newUser(url, "carol");
  teamId = (await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never)).id;
  await alice.client.addToTeam(teamId, bob.id);
  chId = (await alice.client.createChannel({ team_id: teamId, name: `pub${Date.now()}`, display_name: "Pub", type: "O" } as never)).id;
  privId = (await alice.client.createChannel({ team_id: teamId, name: `priv${Date.now()}`, display_name: "Priv", type: "P" } as never)).id;
  await alice.client.addToChannel(bob.id, chId);
  await alice.client.addToChannel(bob.id, privId);
});

afterAll(async () => {
  await stack?.stop();
});

describe("flagged posts", () => {
  it("lists the user's flagged posts newest first, paged and filtered, as a PostList", async () => {
    expect(await order(bob)).toEqual([]);
    const p1 = await post(alice, chId, "first");
    const p2 = await post(alice, chId, "second");
    const p3 = await post(alice, privId, "private");
    await post(alice, chId, "not flagged");
    for (const id of [p1, p2, p3]) await flag(bob, id);

    const all = await flagged(bob);
    expectGolden("posts/flagged.json", all);
    const list = all.body as PostList;
    expect(list.order).toEqual([p3, p2, p1]);
    expect(Object.keys(list.posts).sort()).toEqual([p1, p2, p3].sort());
    expect(list.posts[p2]!.message).toBe("second");

    expect(await order(bob, "?per_page=2")).toEqual([p3, p2]);
    expect(await order(bob, "?page=1&per_page=2")).toEqual([p1]);
    expect(await order(bob, `?channel_id=${chId}`)).toEqual([p2, p1]);
    expect(await order(bob, `?team_id=${teamId}`)).toEqual([p3, p2, p1]);
    expect(await order(bob, "?team_id=zzzzzzzzzzzzzzzzzzzzzzzzzz")).toEqual([]);
    expect(await order(bob, "?channel_id=*")).toEqual([]);
    // Flags are the user's own: alice flagged nothing.
    expect(await order(alice)).toEqual([]);

    await alice.client.deletePost(p2);
    expect(await order(bob)).toEqual([p3, p1]);
    await alice.client.removeFromChannel(bob.id, privId);
    expect(await order(bob)).toEqual([p1]);
  });

  it("refuses another user's flags and writes nothing", async () => {
    await expectRefusedUnchanged(stack, "posts/flagged-forbidden.json", () => flagged(carol, "", bob.id));
  });
});
