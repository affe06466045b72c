/**
 * The posts service's behaviour over its storage, on PostgreSQL and on PGlite (same SQL):
 * teams, channels of each type, memberships and their permissions, posts and threads,
 * reactions, read state, routing reads and idempotent create.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postToJson } from "@switchboard/model";
import type { PostsClient } from "@switchboard/rpc";
import type { PostsApp } from "../src/app.js";
import { outcome, postsClient, signup, startBacking, startPostsInProcess, type Backing, type TestUser } from "./harness.js";

describe.each(["postgres", "pglite"] as const)("posts storage on %s", (driver) => {
  let b: Backing;
  let app: PostsApp;
  let client: PostsClient;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let outsider: TestUser;

  beforeAll(async () => {
    b = await startBacking({ driver });
    admin = await signup(b);
    [alice, bob, carol, outsider] = await Promise.all([signup(b), signup(b), signup(b), signup(b)]);
    app = await startPostsInProcess(b);
    client = postsClient(app.grpcPort);
  });

  afterAll(async () => {
    client?.close();
    await app?.stop();
    await b?.stop();
  });

  const as = (u: TestUser) => ({ token: u.token });

  it("creates a team with its creator as admin and the default channels", async () => {
    const team = (await client.createTeam({ name: "Alpha", displayName: "Alpha", allowOpenInvite: true }, as(alice))).team!;
    expect(team).toMatchObject({ name: "alpha", type: "O", allowOpenInvite: true });
    const members = (await client.listTeamMembersForUser({}, as(alice))).members;
    expect(members).toEqual([expect.objectContaining({ teamId: team.id, userId: alice.id, roles: "team_user team_admin", schemeAdmin: true })]);
    const channels = (await client.listChannelsForUser({ teamId: team.id }, as(alice))).channels;
    expect(channels.map((c) => c.name).sort()).toEqual(["off-topic", "town-square"]);
    const ts = channels.find((c) => c.name === "town-square")!;
    expect((await client.getChannelMember({ channelId: ts.id, userId: alice.id }, as(alice))).member?.roles).toBe("channel_user channel_admin");
    expect((await client.getTeamByName({ name: "alpha" }, as(bob))).team?.id).toBe(team.id);
    expect(await outcome(client.createTeam({ name: "alpha", displayName: "Again" }, as(bob)))).toBe("already_exists");
  });

  it("lets users join open teams (and their default channels) and only admins add to invite-only teams", async () => {
    const open = (await client.getTeamByName({ name: "alpha" }, as(bob))).team!;
    await client.addTeamMember({ teamId: open.id, userId: bob.id }, as(bob));
    expect((await client.listChannelsForUser({ teamId: open.id }, as(bob))).channels.map((c) => c.name).sort()).toEqual(["off-topic", "town-square"]);
    // Joining twice changes nothing.
    expect((await client.addTeamMember({ teamId: open.id, userId: bob.id }, as(bob))).member?.userId).toBe(bob.id);
    const closed = (await client.createTeam({ name: "closed", displayName: "Closed", type: "I" }, as(alice))).team!;
    expect(await outcome(client.addTeamMember({ teamId: closed.id, userId: bob.id }, as(bob)))).toBe("permission_denied");
    expect(await outcome(client.getTeam({ teamId: closed.id }, as(bob)))).toBe("permission_denied");
    await client.addTeamMember({ teamId: closed.id, userId: bob.id }, as(alice));
    expect(await outcome(client.addTeamMember({ teamId: closed.id, userId: carol.id }, as(bob)))).toBe("permission_denied");
    expect(await outcome(client.addTeamMember({ teamId: closed.id, userId: carol.id }, as(admin)))).toBe("ok");
    expect(await outcome(client.addTeamMember({ teamId: closed.id, userId: "z".repeat(26) }, as(alice)))).toBe("not_found");
    // Leaving a team leaves its channels.
    await client.removeTeamMember({ teamId: closed.id, userId: carol.id }, as(carol));
    expect((await client.listChannelsForUser({ teamId: closed.id }, as(carol))).channels).toEqual([]);
    expect((await client.listTeamsForUser({}, as(carol))).teams.map((t) => t.name)).not.toContain("closed");
  });

  it("shows public channels to the team, hides private ones from non-members, and enforces member management", async () => {
    const team = (await client.getTeamByName({ name: "alpha" }, as(alice))).team!;
    const pub = (await client.createChannel({ teamId: team.id, name: "pub", displayName: "Pub", type: "O" }, as(alice))).channel!;
    const priv = (await client.createChannel({ teamId: team.id, name: "priv", displayName: "Priv", type: "P" }, as(alice))).channel!;
    expect(await outcome(client.getChannel({ channelId: pub.id }, as(bob)))).toBe("ok");
    expect(await outcome(client.getChannel({ channelId: priv.id }, as(bob)))).toBe("not_found");
    expect(await outcome(client.getChannel({ channelId: pub.id }, as(outsider)))).toBe("not_found");
    expect(await outcome(client.getChannel({ channelId: priv.id }, as(admin)))).toBe("ok");
    expect(await outcome(client.createChannel({ teamId: team.id, name: "pub", displayName: "Again" }, as(alice)))).toBe("already_exists");
    expect(await outcome(client.createChannel({ teamId: team.id, name: "x", displayName: "X" }, as(outsider)))).toBe("permission_denied");
    // Not a member of pub yet: bob may join it himself but not add others.
    expect(await outcome(client.addChannelMember({ channelId: pub.id, userId: carol.id }, as(bob)))).toBe("permission_denied");
    expect(await outcome(client.addChannelMember({ channelId: pub.id, userId: bob.id }, as(bob)))).toBe("ok");
    expect(await outcome(client.addChannelMember({ channelId: priv.id, userId: bob.id }, as(bob)))).toBe("not_found");
    // Any member may add a team member; users outside the team cannot be added.
    expect(await outcome(client.addChannelMember({ channelId: priv.id, userId: bob.id }, as(alice)))).toBe("ok");
    expect(await outcome(client.addChannelMember({ channelId: priv.id, userId: outsider.id }, as(bob)))).toBe("failed_precondition");
    expect((await client.listChannelMembers({ channelId: priv.id }, as(bob))).members.map((m) => m.userId).sort()).toEqual([alice.id, bob.id].sort());
    // Any member may remove another; anyone may leave; town-square is never left.
    expect(await outcome(client.removeChannelMember({ channelId: priv.id, userId: alice.id }, as(outsider)))).toBe("not_found");
    expect(await outcome(client.removeChannelMember({ channelId: priv.id, userId: bob.id }, as(alice)))).toBe("ok");
    expect(await outcome(client.getChannel({ channelId: priv.id }, as(bob)))).toBe("not_found");
    expect(await outcome(client.removeChannelMember({ channelId: pub.id, userId: bob.id }, as(bob)))).toBe("ok");
    const ts = (await client.getChannelByName({ teamId: team.id, name: "town-square" }, as(bob))).channel!;
    expect(await outcome(client.removeChannelMember({ channelId: ts.id, userId: bob.id }, as(bob)))).toBe("invalid_argument");
  });

  it("creates direct and group channels once and keeps them private to their members", async () => {
    const dm = await client.createDirectChannel({ userId1: alice.id, userId2: bob.id }, as(alice));
    expect(dm.created).toBe(true);
    expect(dm.channel).toMatchObject({ type: "D", teamId: "", name: [alice.id, bob.id].sort().join("__") });
    const again = await client.createDirectChannel({ userId1: bob.id, userId2: alice.id }, as(bob));
    expect(again).toMatchObject({ created: false, channel: { id: dm.channel!.id } });
    expect(await outcome(client.getChannel({ channelId: dm.channel!.id }, as(carol)))).toBe("not_found");
    expect(await outcome(client.createDirectChannel({ userId1: bob.id, userId2: carol.id }, as(alice)))).toBe("permission_denied");
    const gm = await client.createGroupChannel({ userIds: [bob.id, carol.id] }, as(alice));
    expect(gm.channel).toMatchObject({ type: "G", teamId: "" });
    expect(gm.channel!.displayName.split(", ").sort()).toEqual([alice.username, bob.username, carol.username].sort());
    expect(await client.createGroupChannel({ userIds: [alice.id, carol.id, bob.id] }, as(carol))).toMatchObject({
      created: false,
      channel: { id: gm.channel!.id },
    });
    expect(await outcome(client.createGroupChannel({ userIds: [bob.id] }, as(alice)))).toBe("invalid_argument");
    expect(await outcome(client.addChannelMember({ channelId: gm.channel!.id, userId: outsider.id }, as(alice)))).toBe("invalid_argument");
    // Presence (and only presence) asks without a token for who shares a direct or group channel with a user.
    const presence = postsClient(app.grpcPort, { as: "presence" });
    try {
      expect((await presence.listDirectPartners({ userId: carol.id })).userIds.sort()).toEqual([alice.id, bob.id].sort());
    } finally {
      presence.close();
    }
    const routing = await client.getUserRouting({}, as(carol));
    expect(routing.channels.map((c) => c.channelId)).toContain(gm.channel!.id);
  });

  it("creates, threads, lists, edits and deletes posts", async () => {
    const team = (await client.getTeamByName({ name: "alpha" }, as(alice))).team!;
    const ch = (await client.createChannel({ teamId: team.id, name: "posts", displayName: "Posts" }, as(alice))).channel!;
    await client.addChannelMember({ channelId: ch.id, userId: bob.id }, as(alice));
    const root = (await client.createPost({ post: { channelId: ch.id, message: "root #topic" }, setOnline: true }, as(alice))).post!;
    expect(root).toMatchObject({ userId: alice.id, channelId: ch.id, hashtags: "#topic", editAt: 0n, deleteAt: 0n });
    const reply = (await client.createPost({ post: { channelId: ch.id, rootId: root.id, message: "reply" } }, as(bob))).post!;
    const root2 = (await client.getPost({ postId: root.id }, as(bob))).post!;
    expect(root2.replyCount).toBe(1n);
    expect(root2.lastReplyAt).toBe(reply.createAt);
    const channel = (await client.getChannel({ channelId: ch.id }, as(alice))).channel!;
    expect(channel.totalMsgCount).toBe(2n);
    expect(channel.totalMsgCountRoot).toBe(1n);
    expect(channel.lastPostAt).toBe(reply.createAt);
    const third = (await client.createPost({ post: { channelId: ch.id, message: "third" } }, as(alice))).post!;

    const page = await client.getPosts({ channelId: ch.id }, as(bob));
    expect(page.order).toEqual([third.id, reply.id, root.id]);
    expect(page.posts).toHaveLength(3);
    const first = await client.getPosts({ channelId: ch.id, perPage: 1, page: 1 }, as(bob));
    expect(first.order).toEqual([reply.id]);
    expect(first.hasNext).toBe(true);
    expect(first.posts.map((p) => p.id).sort()).toEqual([reply.id, root.id].sort()); // the reply's root comes along
    expect((await client.getPosts({ channelId: ch.id, before: third.id }, as(bob))).order).toEqual([reply.id, root.id]);
    const after = await client.getPosts({ channelId: ch.id, after: root.id }, as(bob));
    expect(after.order).toEqual([third.id, reply.id]);
    expect(after.prevPostId).toBe(root.id);
    expect((await client.getPostThread({ postId: reply.id }, as(bob))).order).toEqual([reply.id, root.id]);

    // Only the author (or a system admin) edits; edit_at moves only when the message changes.
    expect(await outcome(client.patchPost({ postId: root.id, message: "hijack" }, as(bob)))).toBe("permission_denied");
    const pinned = (await client.patchPost({ postId: root.id, isPinned: true }, as(alice))).post!;
    expect(pinned).toMatchObject({ isPinned: true, editAt: 0n, message: "root #topic" });
    const edited = (await client.patchPost({ postId: root.id, message: "edited" }, as(alice))).post!;
    expect(edited.editAt).toBeGreaterThan(0n);
    expect(edited.hashtags).toBe("");
    const byAdmin = (await client.updatePost({ post: { id: third.id, message: "moderated" } }, as(admin))).post!;
    expect(byAdmin.message).toBe("moderated");

    // Deleting a root deletes its replies; "since" still reports them.
    const before = Date.now() - 1;
    await client.deletePost({ postId: root.id }, as(alice));
    expect(await outcome(client.getPost({ postId: reply.id }, as(bob)))).toBe("not_found");
    expect((await client.getPost({ postId: reply.id, includeDeleted: true }, as(admin))).post?.deleteAt).toBeGreaterThan(0n);
    expect((await client.getPosts({ channelId: ch.id }, as(bob))).order).toEqual([third.id]);
    const since = await client.getPosts({ channelId: ch.id, since: BigInt(before) }, as(bob));
    expect(since.order.sort()).toEqual([root.id, reply.id].sort());
    const deletedRoot = since.posts.find((p) => p.id === root.id)!;
    expect(postToJson(deletedRoot).props).toMatchObject({ deleteBy: alice.id });
  });

  it("keeps members only: non-members cannot post, nor read but a public channel of their team", async () => {
    const team = (await client.getTeamByName({ name: "alpha" }, as(alice))).team!;
    const pub = (await client.createChannel({ teamId: team.id, name: "members-only", displayName: "M" }, as(alice))).channel!;
    const priv = (await client.createChannel({ teamId: team.id, name: "members-only-p", displayName: "M", type: "P" }, as(alice))).channel!;
    expect(await outcome(client.createPost({ post: { channelId: pub.id, message: "hi" } }, as(bob)))).toBe("permission_denied");
    expect(await outcome(client.createPost({ post: { channelId: priv.id, message: "hi" } }, as(bob)))).toBe("not_found");
    // Reading is Mattermost's HasPermissionToReadChannel: a team member reads a public
    // channel's posts without joining it; a private channel's are refused (403), not hidden.
    expect(await outcome(client.getPosts({ channelId: pub.id }, as(bob)))).toBe("ok");
    expect(await outcome(client.getPosts({ channelId: priv.id }, as(bob)))).toBe("permission_denied");
    expect(await outcome(client.getPosts({ channelId: priv.id }, as(outsider)))).toBe("permission_denied");
    expect(await outcome(client.getPosts({ channelId: priv.id }, as(admin)))).toBe("ok");
    expect(await app.metrics.value("sb_posts_permission_denials_total", { method: "createPost" })).toBeGreaterThanOrEqual(2);
  });

  it("maintains reactions and has_reactions", async () => {
    const dm = (await client.createDirectChannel({ userId1: alice.id, userId2: carol.id }, as(alice))).channel!;
    const post = (await client.createPost({ post: { channelId: dm.id, message: "react to me" } }, as(alice))).post!;
    await client.addReaction({ reaction: { userId: carol.id, postId: post.id, emojiName: "+1" } }, as(carol));
    await client.addReaction({ reaction: { postId: post.id, emojiName: "+1" } }, as(carol));
    await client.addReaction({ reaction: { postId: post.id, emojiName: "smile" } }, as(alice));
    expect((await client.getPost({ postId: post.id }, as(carol))).post?.hasReactions).toBe(true);
    expect((await client.listReactions({ postId: post.id }, as(alice))).reactions.map((r) => `${r.userId}:${r.emojiName}`).sort()).toEqual(
      [`${carol.id}:+1`, `${alice.id}:smile`].sort(),
    );
    expect(await outcome(client.addReaction({ reaction: { userId: alice.id, postId: post.id, emojiName: "x" } }, as(carol)))).toBe("permission_denied");
    expect(await outcome(client.addReaction({ reaction: { postId: post.id, emojiName: "no spaces" } }, as(carol)))).toBe("invalid_argument");
    expect(await outcome(client.addReaction({ reaction: { postId: post.id, emojiName: "x" } }, as(bob)))).toBe("not_found");
    await client.removeReaction({ userId: carol.id, postId: post.id, emojiName: "+1" }, as(carol));
    await client.removeReaction({ userId: alice.id, postId: post.id, emojiName: "smile" }, as(alice));
    expect((await client.getPost({ postId: post.id }, as(carol))).post?.hasReactions).toBe(false);
  });

  it("marks channels viewed", async () => {
    const dm = (await client.createDirectChannel({ userId1: bob.id, userId2: carol.id }, as(bob))).channel!;
    const p = (await client.createPost({ post: { channelId: dm.id, message: "unread" } }, as(bob))).post!;
    expect((await client.getChannelMember({ channelId: dm.id, userId: carol.id }, as(carol))).member).toMatchObject({ msgCount: 0n, mentionCount: 1n });
    const r = await client.viewChannel({ channelId: dm.id }, as(carol));
    expect(r.lastViewedAtTimes[dm.id]).toBe(p.createAt);
    expect((await client.getChannelMember({ channelId: dm.id, userId: carol.id }, as(carol))).member).toMatchObject({
      msgCount: 1n,
      mentionCount: 0n,
      lastViewedAt: p.createAt,
    });
    expect(await outcome(client.viewChannel({ userId: bob.id, channelId: dm.id }, as(carol)))).toBe("permission_denied");
  });

  it("creates a post once per pending_post_id, however often and concurrently it is retried", async () => {
    const dm = (await client.createDirectChannel({ userId1: alice.id, userId2: bob.id }, as(alice))).channel!;
    const pendingPostId = `${alice.id}:${Date.now()}`;
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => client.createPost({ post: { channelId: dm.id, message: "once", pendingPostId } }, as(alice))),
    );
    expect(answers.filter((a) => a.created)).toHaveLength(1);
    const ids = new Set(answers.map((a) => a.post!.id));
    expect(ids.size).toBe(1);
    for (const a of answers) expect(postToJson(a.post!)).toEqual(postToJson(answers[0]!.post!));
    // Later, and with a different payload: still the original.
    const late = await client.createPost({ post: { channelId: dm.id, message: "changed", pendingPostId } }, as(alice));
    expect(late).toMatchObject({ created: false, post: { id: answers[0]!.post!.id, message: "once" } });
    const list = await client.getPosts({ channelId: dm.id }, as(alice));
    expect(list.posts.filter((p) => p.pendingPostId === pendingPostId)).toHaveLength(1);
    expect(await app.metrics.value("sb_posts_idempotent_replays_total")).toBeGreaterThanOrEqual(10);
    expect(await app.metrics.value("sb_posts_idempotency_conflicts_total")).toBe(1);
    // The same payload again, props and all: a replay, not a conflict, although PostgreSQL
    // stores the props as jsonb (keys in its own order).
    const withProps = {
      post: { channelId: dm.id, message: "props", pendingPostId: `${pendingPostId}:props`, propsJson: new TextEncoder().encode('{"zz":1,"a":{"y":2,"x":1}}') },
    };
    expect((await client.createPost(withProps, as(alice))).created).toBe(true);
    expect((await client.createPost(withProps, as(alice))).created).toBe(false);
    expect(await app.metrics.value("sb_posts_idempotency_conflicts_total")).toBe(1);
  });
});
