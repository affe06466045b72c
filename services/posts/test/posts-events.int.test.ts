/**
 * Every event the service emits, as stored in SB_EVT, field by field against Mattermost's
 * shapes (docs/protocol.md §4.2), with the envelope extras: subject, membership, change_id,
 * channel_seq and posted hints.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { streams, subjects } from "@switchboard/bus";
import { MembershipChange_Kind } from "@switchboard/proto/events";
import type { PostsClient } from "@switchboard/rpc";
import { waitFor } from "@switchboard/testkit";
import type { PostsApp } from "../src/app.js";
import { postsClient, signup, startBacking, startPostsInProcess, storedEvents, type Backing, type StoredEvent, type TestUser } from "./harness.js";

/** Mattermost's Post JSON keys (server/public/model/post.go, as the service renders them). */
const POST_KEYS = [
  "channel_id",
  "create_at",
  "delete_at",
  "edit_at",
  "file_ids",
  "hashtags",
  "id",
  "is_pinned",
  "last_reply_at",
  "message",
  "metadata",
  "original_id",
  "participants",
  "pending_post_id",
  "props",
  "reply_count",
  "root_id",
  "type",
  "update_at",
  "user_id",
].sort();

const keys = (o: object) => Object.keys(o).sort();

describe("posts events", () => {
  let b: Backing;
  let app: PostsApp;
  let client: PostsClient;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  const as = (u: TestUser) => ({ token: u.token });

  beforeAll(async () => {
    // A nats-server of its own: the test reads the whole event stream, which other test files
    // running beside it on the shared server would also be writing.
    b = await startBacking({ ownNats: true });
    [alice, bob, carol] = [await signup(b, "alice"), await signup(b, "bob"), await signup(b, "carol")];
    app = await startPostsInProcess(b);
    client = postsClient(app.grpcPort);
  });

  afterAll(async () => {
    client?.close();
    await app?.stop();
    await b?.stop();
  });

  /** Waits until the relay stored events matching `pred` (at least `n`). */
  async function events(pred: (e: StoredEvent) => boolean, n = 1): Promise<StoredEvent[]> {
    return waitFor(
      async () => {
        const hits = (await storedEvents(b.bus)).filter(pred);
        return hits.length >= n ? hits : undefined;
      },
      { what: `events in ${streams.events.name}` },
    );
  }
  const named =
    (name: string, extra: (e: StoredEvent) => boolean = () => true) =>
    (e: StoredEvent) =>
      e.event.event === name && extra(e);
  const postOf = (e: StoredEvent) => JSON.parse(String(e.data.post)) as Record<string, unknown>;

  let teamId = "";
  let channelId = "";

  it("team creation: user_added to each default channel (two copies) and added_to_team", async () => {
    teamId = (await client.createTeam({ name: "events", displayName: "Events", allowOpenInvite: true }, as(alice))).team!.id;
    const [added] = await events(named("added_to_team"));
    expect(added).toMatchObject({ subject: subjects.user(alice.id), data: { team_id: teamId, user_id: alice.id } });
    expect(added!.event.broadcast).toMatchObject({ userId: alice.id, channelId: "", teamId: "", omitUsers: [] });
    expect(added!.event.membership).toMatchObject({ kind: MembershipChange_Kind.TEAM_ADDED, userId: alice.id, teamId });
    const userAdded = await events(named("user_added"), 4);
    const byChannel = new Map<string, StoredEvent[]>();
    for (const e of userAdded) byChannel.set(e.event.broadcast!.channelId, [...(byChannel.get(e.event.broadcast!.channelId) ?? []), e]);
    expect(byChannel.size).toBe(2);
    for (const [ch, copies] of byChannel) {
      const [toChannel, toUser] = [copies.find((c) => c.subject === subjects.channel(ch))!, copies.find((c) => c.subject === subjects.user(alice.id))!];
      expect(toChannel.event.broadcast).toMatchObject({ channelId: ch, omitUsers: [alice.id], userId: "" });
      expect(toUser.event.broadcast).toMatchObject({ channelId: ch, userId: alice.id, omitUsers: [] });
      for (const c of [toChannel, toUser]) {
        expect(c.data).toEqual({ team_id: teamId, user_id: alice.id });
        expect(c.event.membership).toMatchObject({ kind: MembershipChange_Kind.CHANNEL_ADDED, userId: alice.id, channelId: ch, teamId });
        expect(c.event.channelSeq).toBe(1n);
      }
      expect(toChannel.event.changeId).toBe(toUser.event.changeId);
      expect(toChannel.event.changeId).not.toBe("");
    }
  });

  it("channel_created goes to the creator only, with the membership", async () => {
    channelId = (await client.createChannel({ teamId, name: "evt", displayName: "Evt Channel" }, as(alice))).channel!.id;
    const [e] = await events(named("channel_created"));
    expect(e).toMatchObject({ subject: subjects.user(alice.id), data: { channel_id: channelId, team_id: teamId } });
    expect(e!.event.broadcast).toMatchObject({ userId: alice.id, channelId: "" });
    expect(e!.event.membership).toMatchObject({ kind: MembershipChange_Kind.CHANNEL_ADDED, userId: alice.id, channelId });
  });

  it("posted: the post as a JSON string, channel and sender facts, mention and follower hints", async () => {
    await client.addTeamMember({ teamId, userId: bob.id }, as(bob));
    await client.addTeamMember({ teamId, userId: carol.id }, as(carol));
    await client.addChannelMember({ channelId, userId: bob.id }, as(alice));
    await client.addChannelMember({ channelId, userId: carol.id }, as(alice));
    const root = (await client.createPost({ post: { channelId, message: "hi @bob and @nobody.", pendingPostId: "p-1" }, setOnline: true }, as(alice))).post!;
    const [e] = await events(named("posted", (x) => postOf(x).id === root.id));
    expect(e!.subject).toBe(subjects.channel(channelId));
    expect(keys(e!.data)).toEqual(["channel_display_name", "channel_name", "channel_type", "post", "sender_name", "set_online", "team_id"]);
    expect(e!.data).toMatchObject({
      channel_display_name: "Evt Channel",
      channel_name: "evt",
      channel_type: "O",
      sender_name: "@alice",
      set_online: true,
      team_id: teamId,
    });
    expect(typeof e!.data.post).toBe("string");
    const post = postOf(e!);
    expect(keys(post)).toEqual(POST_KEYS);
    expect(post).toMatchObject({
      id: root.id,
      user_id: alice.id,
      channel_id: channelId,
      message: "hi @bob and @nobody.",
      pending_post_id: "p-1",
      props: {},
      file_ids: [],
      metadata: {},
    });
    expect(e!.event.broadcast).toMatchObject({ channelId, userId: "", teamId: "", omitUsers: [], containsSanitizedData: false });
    expect(e!.event.posted).toMatchObject({ mentionedUserIds: [bob.id], followerUserIds: [], channelType: "O", senderId: alice.id });
    expect(e!.event.membership).toBeUndefined();

    const reply = (await client.createPost({ post: { channelId, rootId: root.id, message: "@channel look" } }, as(bob))).post!;
    const [r] = await events(named("posted", (x) => postOf(x).id === reply.id));
    expect(r!.event.posted?.followerUserIds).toEqual([alice.id]);
    expect([...r!.event.posted!.mentionedUserIds].sort()).toEqual([alice.id, carol.id].sort());
    expect(r!.event.channelSeq).toBeGreaterThan(e!.event.channelSeq);
  });

  it("channels of SB_POSTS_MAX_NOTIFICATIONS_PER_CHANNEL members or more ignore @channel, @all and @here; past it the poster is told", async () => {
    // A second service on the same NATS, with a limit of 3 and a database of its own.
    const limited = await startPostsInProcess(b, { SB_POSTS_MAX_NOTIFICATIONS_PER_CHANNEL: "3" });
    const c = postsClient(limited.grpcPort);
    try {
      const dave = await signup(b, "dave");
      const team = (await c.createTeam({ name: "limited", displayName: "Limited", allowOpenInvite: true }, as(alice))).team!;
      for (const u of [bob, carol, dave]) await c.addTeamMember({ teamId: team.id, userId: u.id }, as(alice));
      const channelOf = async (name: string, members: TestUser[]) => {
        const ch = (await c.createChannel({ teamId: team.id, name, displayName: name }, as(alice))).channel!;
        for (const u of members) await c.addChannelMember({ channelId: ch.id, userId: u.id }, as(alice));
        return ch.id;
      };
      const small = await channelOf("small", [bob]);
      const exact = await channelOf("exact", [bob, carol]);
      const large = await channelOf("large", [bob, carol, dave]);
      const post = async (channelId: string, message: string) => {
        const p = (await c.createPost({ post: { channelId, message } }, as(alice))).post!;
        const [e] = await events(named("posted", (x) => postOf(x).id === p.id));
        return { p, mentioned: [...e!.event.posted!.mentionedUserIds].sort() };
      };
      const notices = (channelId: string) => named("ephemeral_message", (x) => x.event.broadcast?.channelId === channelId);

      expect((await post(small, "@channel two of us")).mentioned).toEqual([bob.id]);
      // At the limit: off, and (as in Mattermost) no notice.
      expect((await post(exact, "@channel three of us")).mentioned).toEqual([]);
      // Past it: off, and one notice per word used, to the poster only.
      const { p, mentioned } = await post(large, `@here and @all, and @${carol.username}`);
      expect(mentioned).toEqual([carol.id]);
      const told = await events(notices(large), 2);
      expect(told).toHaveLength(2);
      expect(told.map((e) => postOf(e).message)).toEqual([
        "@here notifications are disabled in channels with more than 3 users. Contact your system administrator for more information.",
        "@all notifications are disabled in channels with more than 3 users. Contact your system administrator for more information.",
      ]);
      for (const e of told) {
        expect(e.subject).toBe(subjects.user(alice.id));
        expect(e.event.broadcast).toMatchObject({ userId: alice.id, channelId: large });
        expect(keys(postOf(e))).toEqual(POST_KEYS);
        expect(postOf(e)).toMatchObject({ type: "system_ephemeral", channel_id: large, user_id: "", create_at: Number(p.createAt) + 1 });
      }
      expect((await storedEvents(b.bus)).filter(notices(exact))).toEqual([]);
    } finally {
      c.close();
      await limited.stop();
    }
  });

  it("posted in a direct channel: '@sender' as display name, no team, the partner mentioned", async () => {
    const dm = (await client.createDirectChannel({ userId1: alice.id, userId2: bob.id }, as(alice))).channel!;
    const copies = await events(
      named("direct_added", (x) => x.event.broadcast?.channelId === dm.id),
      2,
    );
    expect(copies.map((c) => c.subject).sort()).toEqual([subjects.user(alice.id), subjects.user(bob.id)].sort());
    for (const c of copies) {
      expect(c.data).toEqual({ creator_id: alice.id, teammate_id: bob.id });
      expect(c.event.membership).toMatchObject({ kind: MembershipChange_Kind.CHANNEL_ADDED, channelId: dm.id, userId: c.event.broadcast!.userId, teamId: "" });
    }
    const p = (await client.createPost({ post: { channelId: dm.id, message: "psst" } }, as(bob))).post!;
    const [e] = await events(named("posted", (x) => postOf(x).id === p.id));
    expect(e!.data).toMatchObject({ channel_display_name: "@bob", channel_type: "D", sender_name: "@bob", team_id: "", channel_name: dm.name });
    expect(e!.event.posted?.mentionedUserIds).toEqual([alice.id]);
  });

  it("group_added goes to each member with the teammate ids as a JSON string", async () => {
    const gm = (await client.createGroupChannel({ userIds: [alice.id, bob.id, carol.id] }, as(carol))).channel!;
    const copies = await events(
      named("group_added", (x) => x.event.broadcast?.channelId === gm.id),
      3,
    );
    expect(copies.map((c) => c.event.broadcast!.userId).sort()).toEqual([alice.id, bob.id, carol.id].sort());
    for (const c of copies) {
      expect(c.subject).toBe(subjects.user(c.event.broadcast!.userId));
      expect(typeof c.data.teammate_ids).toBe("string");
      expect((JSON.parse(String(c.data.teammate_ids)) as string[]).sort()).toEqual([alice.id, bob.id, carol.id].sort());
    }
    expect(new Set(copies.map((c) => c.event.changeId)).size).toBe(1);
  });

  it("post_edited and post_deleted (a sanitized and a sensitive copy)", async () => {
    const p = (await client.createPost({ post: { channelId, message: "draft" } }, as(alice))).post!;
    await client.patchPost({ postId: p.id, message: "final" }, as(alice));
    const [edited] = await events(named("post_edited", (x) => postOf(x).id === p.id));
    expect(keys(edited!.data)).toEqual(["post"]);
    expect(postOf(edited!)).toMatchObject({ message: "final" });
    expect(Number(postOf(edited!).edit_at)).toBeGreaterThan(0);
    expect(edited!.event.broadcast).toMatchObject({ channelId });
    await client.deletePost({ postId: p.id }, as(alice));
    const copies = await events(
      named("post_deleted", (x) => postOf(x).id === p.id),
      2,
    );
    const sanitized = copies.find((c) => c.event.broadcast?.containsSanitizedData)!;
    const sensitive = copies.find((c) => c.event.broadcast?.containsSensitiveData)!;
    expect(keys(sanitized.data)).toEqual(["post"]);
    expect(sanitized.event.broadcast).toMatchObject({ channelId, containsSensitiveData: false });
    expect(sensitive.data).toMatchObject({ delete_by: alice.id });
    expect(keys(sensitive.data)).toEqual(["delete_by", "post"]);
    expect(sanitized.event.changeId).toBe(sensitive.event.changeId);
    expect(sanitized.event.channelSeq).toBe(sensitive.event.channelSeq);
  });

  it("~channel links: props.channel_mentions lists the team's public channels a message names, replaces what the client sent, follows edits", async () => {
    const enc = (o: object) => new TextEncoder().encode(JSON.stringify(o));
    const propsOf = (p: { propsJson: Uint8Array }) => JSON.parse(new TextDecoder().decode(p.propsJson)) as Record<string, unknown>;
    const linked = (await client.createChannel({ teamId, name: "linked", displayName: "Linked Channel" }, as(alice))).channel!;
    await client.createChannel({ teamId, name: "hush", displayName: "Hush", type: "P" }, as(alice));
    const other = (await client.createTeam({ name: "elsewhere", displayName: "Elsewhere", allowOpenInvite: true }, as(alice))).team!;
    await client.createChannel({ teamId: other.id, name: "far", displayName: "Far" }, as(alice));
    const forged = { keep: 1, channel_mentions: { evil: { display_name: "Click me", team_name: "x", id: "y" } } };
    const expected = { keep: 1, channel_mentions: { linked: { display_name: "Linked Channel", team_name: "events", id: linked.id } } };

    // The one-statement path (a root post naming no user) and the transaction path (a reply).
    const root = (
      await client.createPost({ post: { channelId, message: "~linked, ~hush, ~far, ~nowhere, a~linked and ~linked again", propsJson: enc(forged) } }, as(alice))
    ).post!;
    expect(propsOf(root)).toEqual(expected);
    const reply = (await client.createPost({ post: { channelId, rootId: root.id, message: "@bob see ~linked", propsJson: enc(forged) } }, as(alice))).post!;
    expect(propsOf(reply)).toEqual(expected);
    for (const id of [root.id, reply.id]) {
      const [e] = await events(named("posted", (x) => postOf(x).id === id));
      expect(postOf(e!).props).toEqual(expected);
    }
    expect(propsOf((await client.getPost({ postId: root.id }, as(bob))).post!)).toEqual(expected);

    // Edits recompute it from the new message; a forged entry alone is dropped.
    await client.patchPost({ postId: root.id, message: "nothing linked any more" }, as(alice));
    const [edited] = await events(named("post_edited", (x) => postOf(x).id === root.id));
    expect(postOf(edited!).props).toEqual({ keep: 1 });
    await client.patchPost({ postId: reply.id, message: "back to ~linked" }, as(alice));
    const [relinked] = await events(named("post_edited", (x) => postOf(x).id === reply.id && String(postOf(x).message).startsWith("back")));
    expect(postOf(relinked!).props).toEqual(expected);
    const plain = (await client.createPost({ post: { channelId, message: "plain", propsJson: enc(forged) } }, as(alice))).post!;
    expect(propsOf(plain)).toEqual({ keep: 1 });

    // Direct channels have no team: no links.
    const dm = (await client.createDirectChannel({ userId1: alice.id, userId2: bob.id }, as(alice))).channel!;
    expect(propsOf((await client.createPost({ post: { channelId: dm.id, message: "~linked" } }, as(alice))).post!)).toEqual({});
  });

  it("reaction_added / reaction_removed carry the reaction as a JSON string", async () => {
    const p = (await client.createPost({ post: { channelId, message: "react" } }, as(alice))).post!;
    await client.addReaction({ reaction: { postId: p.id, emojiName: "tada" } }, as(bob));
    await client.removeReaction({ userId: bob.id, postId: p.id, emojiName: "tada" }, as(bob));
    for (const name of ["reaction_added", "reaction_removed"]) {
      const [e] = await events(named(name, (x) => String(x.data.reaction).includes(p.id)));
      expect(e!.subject).toBe(subjects.channel(channelId));
      expect(e!.event.broadcast).toMatchObject({ channelId });
      const reaction = JSON.parse(String(e!.data.reaction)) as Record<string, unknown>;
      expect(keys(reaction)).toEqual(["channel_id", "create_at", "delete_at", "emoji_name", "post_id", "remote_id", "update_at", "user_id"]);
      expect(reaction).toMatchObject({ user_id: bob.id, post_id: p.id, emoji_name: "tada", channel_id: channelId });
    }
  });

  it("user_removed: to the channel (user_id, remover_id) and to the removed user (channel_id, remover_id)", async () => {
    await client.removeChannelMember({ channelId, userId: carol.id }, as(bob));
    const copies = await events(
      named("user_removed", (x) => x.event.membership?.channelId === channelId),
      2,
    );
    const toChannel = copies.find((c) => c.subject === subjects.channel(channelId))!;
    const toUser = copies.find((c) => c.subject === subjects.user(carol.id))!;
    expect(toChannel.data).toEqual({ user_id: carol.id, remover_id: bob.id });
    expect(toChannel.event.broadcast).toMatchObject({ channelId, userId: "" });
    expect(toUser.data).toEqual({ channel_id: channelId, remover_id: bob.id });
    expect(toUser.event.broadcast).toMatchObject({ userId: carol.id, channelId: "" });
    for (const c of copies) expect(c.event.membership).toMatchObject({ kind: MembershipChange_Kind.CHANNEL_REMOVED, userId: carol.id, channelId, teamId });
  });

  it("multiple_channels_viewed and leave_team", async () => {
    await client.viewChannel({ channelId }, as(bob));
    const [viewed] = await events(named("multiple_channels_viewed", (x) => x.subject === subjects.user(bob.id)));
    expect(keys(viewed!.data)).toEqual(["channel_times"]);
    expect(Object.keys(viewed!.data.channel_times as object)).toEqual([channelId]);
    expect(viewed!.event.broadcast).toMatchObject({ userId: bob.id });

    await client.removeTeamMember({ teamId, userId: carol.id }, as(carol));
    const copies = await events(named("leave_team"), 2);
    const toTeam = copies.find((c) => c.subject === subjects.team(teamId))!;
    const toUser = copies.find((c) => c.subject === subjects.user(carol.id))!;
    expect(toTeam.event.broadcast).toMatchObject({ teamId, omitUsers: [carol.id] });
    expect(toUser.event.broadcast).toMatchObject({ userId: carol.id, teamId: "" });
    for (const c of copies) {
      expect(c.data).toEqual({ user_id: carol.id, team_id: teamId });
      expect(c.event.membership).toMatchObject({ kind: MembershipChange_Kind.TEAM_REMOVED, userId: carol.id, teamId });
    }
  });
});
