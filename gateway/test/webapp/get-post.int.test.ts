/**
 * Who reads posts, as Mattermost answers it. GET /api/v4/posts/{post_id} (GetPostIfAuthorized):
 * an unknown or
 * deleted post is 404 for anyone; a post is read by the channel's members, by team members
 * when the channel is public, and by system admins; anyone else is 403, a private channel's
 * post included (403, not 404: Mattermost does not hide that the post exists). A channel's
 * post list (getPostsForChannel) likewise: readers get it, an unknown channel is 404, anyone
 * else 403. Refusals write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@switchboard/testkit";
import { newUser, type TestUser } from "../support.js";
import { expectGolden, expectRefusedUnchanged, rest } from "../webapp-support.js";

let stack: Stack;
let url: string;
let admin: TestUser;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let openId: string;
let privId: string;
let openPost: string;
let privPost: string;
let deletedPost: string;
const UNKNOWN = "zzzzzzzzzzzzzzzzzzzzzzzzzz";

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
  admin = await newUser(url, "admin"); // the first user is the system admin
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
  carol = await newUser(url, "carol");
  const teamId = (await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never)).id;
  await alice.client.addToTeam(teamId, bob.id);
  const open = await alice.client.createChannel({ team_id: teamId, name: `open${Date.now()}`, display_name: "Open", type: "O" } as never);
  const priv = await alice.client.createChannel({ team_id: teamId, name: `priv${Date.now()}`, display_name: "Priv", type: "P" } as never);
  [openId, privId] = [open.id, priv.id];
  openPost = (await alice.client.createPost({ channel_id: open.id, message: "in the open" })).id;
  privPost = (await alice.client.createPost({ channel_id: priv.id, message: "secret" })).id;
  deletedPost = (await alice.client.createPost({ channel_id: priv.id, message: "gone" })).id;
  await alice.client.deletePost(deletedPost);
});

afterAll(async () => {
  await stack?.stop();
});

describe("GET /api/v4/posts/{post_id}", () => {
  it("answers the channel's readers: members, team members of a public channel, system admins", async () => {
    for (const [who, id] of [
      [alice, privPost],
      [alice, openPost],
      [bob, openPost], // in the team, not in the channel
      [admin, privPost], // in neither
    ] as const) {
      const a = await rest(url, who.token, "GET", `/api/v4/posts/${id}`);
      expectGolden("posts/get.json", a);
      expect((a.body as { id: string }).id).toBe(id);
    }
  });

  it("refuses everyone else with 403 (a private channel's post too), and a missing or deleted post with 404; nothing is written", async () => {
    const cases: [string, TestUser, string][] = [
      ["posts/get-forbidden.json", bob, privPost], // in the team, not in the private channel
      ["posts/get-forbidden.json", carol, openPost], // outside the team
      ["posts/get-forbidden.json", carol, privPost],
      ["posts/get-missing.json", bob, UNKNOWN],
      ["posts/get-missing.json", alice, deletedPost], // deleted: 404 even for a member
      ["posts/get-missing.json", bob, deletedPost], // ... and before any permission check
    ];
    for (const [golden, who, id] of cases) await expectRefusedUnchanged(stack, golden, () => rest(url, who.token, "GET", `/api/v4/posts/${id}`));
  });

  it("include_deleted is for system admins", async () => {
    const a = await rest(url, admin.token, "GET", `/api/v4/posts/${deletedPost}?include_deleted=true`);
    expectGolden("posts/get.json", a);
    expect((a.body as { delete_at: number }).delete_at).toBeGreaterThan(0);
    await expectRefusedUnchanged(stack, "posts/get-forbidden.json", () => rest(url, alice.token, "GET", `/api/v4/posts/${deletedPost}?include_deleted=true`));
  });

  it("a channel's post list: its readers get it, an unknown channel is 404, anyone else 403", async () => {
    const list = await rest(url, bob.token, "GET", `/api/v4/channels/${openId}/posts?page=0&per_page=60`);
    expectGolden("posts/post-list.json", list);
    expect((list.body as { order: string[] }).order).toEqual([openPost]);
    const unknown = await rest(url, bob.token, "GET", `/api/v4/channels/${UNKNOWN}/posts`);
    expect(unknown).toMatchObject({ status: 404, body: { id: "app.channel.get.existing.app_error" } });
    for (const [who, ch] of [
      [bob, privId],
      [carol, openId],
      [carol, privId],
    ] as const)
      await expectRefusedUnchanged(stack, "posts/list-forbidden.json", () => rest(url, who.token, "GET", `/api/v4/channels/${ch}/posts?collapsedThreads=true`));
  });
});
