/**
 * Collapsed reply threads over the posts service's storage, on PostgreSQL and on PGlite:
 * concurrent replies counted exactly into the thread, participants in order of first reply,
 * memberships for the repliers, the root's author and the mentioned, unread replies and
 * mentions per user, reply and root deletion, following and reading.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostsClient } from "@switchboard/rpc";
import type { PostsApp } from "../src/app.js";
import { outcome, postsClient, signup, startBacking, startPostsInProcess, type Backing, type TestUser } from "./harness.js";

describe.each(["postgres", "pglite"] as const)("threads on %s", (driver) => {
  let b: Backing;
  let app: PostsApp;
  let client: PostsClient;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let dave: TestUser;
  let teamId: string;
  let channelId: string;

  beforeAll(async () => {
    b = await startBacking({ driver });
    await signup(b); // the first user is the system admin: not these
    [alice, bob, carol, dave] = await Promise.all([signup(b), signup(b), signup(b), signup(b)]);
    app = await startPostsInProcess(b);
    client = postsClient(app.grpcPort);
    teamId = (await client.createTeam({ name: "threads", displayName: "Threads", allowOpenInvite: true }, as(alice))).team!.id;
    for (const u of [bob, carol, dave]) await client.addTeamMember({ teamId, userId: u.id }, as(u));
    channelId = (await client.createChannel({ teamId, name: "t", displayName: "T" }, as(alice))).channel!.id;
    for (const u of [bob, carol]) await client.addChannelMember({ channelId, userId: u.id }, as(alice));
  });

  afterAll(async () => {
    client?.close();
    await app?.stop();
    await b?.stop();
  });

  const as = (u: TestUser) => ({ token: u.token });
  const threadOf = async (u: TestUser, threadId: string) => (await client.getUserThread({ userId: u.id, teamId, threadId }, as(u))).thread!;

  it("counts concurrent replies exactly and keeps each user's unread replies and mentions", async () => {
    const root = (await client.createPost({ post: { channelId, message: "root" } }, as(alice))).post!;
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => client.createPost({ post: { channelId, rootId: root.id, message: `reply ${i}` } }, as(i % 2 === 0 ? bob : carol))),
    );
    // A reply marks the thread read for its author: the mention comes after carol's replies.
    replies.push(await client.createPost({ post: { channelId, rootId: root.id, message: `@${carol.username} look` } }, as(bob)));
    const a = await threadOf(alice, root.id);
    expect(a.replyCount).toBe(13n);
    expect(a.lastReplyAt).toBe(replies.map((r) => r.post!.createAt).reduce((x, y) => (x > y ? x : y)));
    expect(new Set(a.participantIds)).toEqual(new Set([bob.id, carol.id]));
    expect(a.unreadReplies).toBe(13n);
    expect(a.unreadMentions).toBe(0n);
    expect(a.post?.id).toBe(root.id);
    expect(await threadOf(carol, root.id)).toMatchObject({ unreadMentions: 1n, unreadReplies: 1n });
    expect(await threadOf(bob, root.id)).toMatchObject({ unreadMentions: 0n, unreadReplies: 0n });
    // dave neither replied nor was mentioned (nor is he in the channel): no thread for him.
    expect(await outcome(client.getUserThread({ userId: dave.id, teamId, threadId: root.id }, as(dave)))).toBe("permission_denied");
    const list = await client.getUserThreads({ userId: alice.id, teamId }, as(alice));
    expect(list).toMatchObject({ total: 1n, totalUnreadThreads: 1n, totalUnreadMentions: 0n });

    // Deleting a reply takes it out of the thread and of the unread replies.
    await client.deletePost({ postId: replies[0]!.post!.id }, as(bob));
    expect(await threadOf(alice, root.id)).toMatchObject({ replyCount: 12n, unreadReplies: 12n });

    const read = (await client.updateThreadRead({ userId: alice.id, teamId, threadId: root.id, timestamp: a.lastReplyAt }, as(alice))).thread!;
    expect(read).toMatchObject({ unreadReplies: 0n, lastViewedAt: a.lastReplyAt });
    await client.setThreadFollowing({ userId: alice.id, teamId, threadId: root.id, following: false }, as(alice));
    expect((await client.getUserThreads({ userId: alice.id, teamId }, as(alice))).total).toBe(0n);
    // since: unfollowed threads too (the webapp's catch-up after a reconnect).
    expect((await client.getUserThreads({ userId: alice.id, teamId, since: 1n }, as(alice))).threads.map((t) => t.id)).toEqual([root.id]);

    // A deleted root deletes its thread: listed only with `deleted`.
    await client.deletePost({ postId: root.id }, as(alice));
    expect((await client.getUserThreads({ userId: bob.id, teamId }, as(bob))).threads).toEqual([]);
    const deleted = await client.getUserThreads({ userId: bob.id, teamId, deleted: true }, as(bob));
    expect(deleted.threads.map((t) => t.id)).toEqual([root.id]);
    expect(deleted.threads[0]!.deleteAt).toBeGreaterThan(0n);
  });
  it("makes the users a root names (@username) followers of its thread at the first reply", async () => {
    const root = (await client.createPost({ post: { channelId, message: `for @${carol.username} and @${dave.username}` } }, as(alice))).post!;
    expect(await outcome(client.getUserThread({ userId: carol.id, teamId, threadId: root.id }, as(carol)))).toBe("not_found");
    await client.createPost({ post: { channelId, rootId: root.id, message: "a reply" } }, as(bob));
    // carol follows, with the reply unread and no mention; dave is not in the channel: nothing for him.
    expect(await threadOf(carol, root.id)).toMatchObject({ unreadReplies: 1n, unreadMentions: 0n });
    expect(await outcome(client.getUserThread({ userId: dave.id, teamId, threadId: root.id }, as(dave)))).toBe("permission_denied");
  });
});
