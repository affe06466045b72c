/**
 * The webapp's read-state calls through the stock Client4 (getMyChannelMember,
 * getMyChannelMembers, readMultipleChannels, viewMyChannel, markPostAsUnread,
 * getMyTeamUnreads), each answer compared with its golden fixture, and the events they
 * produce: a second session of the same user gets multiple_channels_viewed and post_unread,
 * another member of the channel and a non-member get nothing. Refused calls answer as
 * Mattermost does and write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@switchboard/testkit";
import { connect, newUser, type Recorder, type TestUser, type WsMessage } from "./support.js";
import { expectGolden, expectRefusedUnchanged, postsFingerprint, rest } from "./webapp-support.js";

let stack: Stack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let teamId: string;
let channelId: string;
let alice2: Recorder;
let bobWs: Recorder;
let carolWs: Recorder;
const posts: { id: string; create_at: number }[] = [];
const UNKNOWN = "zzzzzzzzzzzzzzzzzzzzzzzzzz";

const readStateEvents = (r: Recorder): WsMessage[] => r.events.filter((e) => e.event === "post_unread" || e.event === "multiple_channels_viewed");

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
  // One after another: the first user of a server is its system admin (alice here).
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
  carol = await newUser(url, "carol");
  const team = await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never);
  teamId = team.id;
  await alice.client.addToTeam(teamId, bob.id);
  const ch = await alice.client.createChannel({ team_id: teamId, name: `reads${Date.now()}`, display_name: "Reads", type: "O" } as never);
  channelId = ch.id;
  await alice.client.addToChannel(bob.id, channelId);
  [alice2, bobWs, carolWs] = await Promise.all([connect(url, alice.token), connect(url, bob.token), connect(url, carol.token)]);
  for (const message of ["hello", `@${alice.username} look at this`, "@channel everyone"]) {
    const p = await bob.client.createPost({ channel_id: channelId, message });
    posts.push({ id: p.id, create_at: p.create_at });
  }
});

afterAll(async () => {
  for (const r of [alice2, bobWs, carolWs]) r?.close();
  await stack?.stop();
});

describe("read state as the webapp reads it", () => {
  it("counts posts and mentions per member and answers getMyChannelMember / getMyChannelMembers / team unreads", async () => {
    const c = alice.client;
    const me = await c.getMyChannelMember(channelId);
    // Three posts by bob: one names alice, one names the whole channel.
    expect(me).toMatchObject({ channel_id: channelId, user_id: alice.id, msg_count: 0, mention_count: 2, mention_count_root: 2 });
    expectGolden("read-state/channel-member.json", await rest(url, alice.token, "GET", `/api/v4/channels/${channelId}/members/me`));

    const mine = await c.getMyChannelMembers(teamId);
    expect(mine.find((m) => m.channel_id === channelId)).toMatchObject({ mention_count: 2 });
    expectGolden("read-state/team-channel-members.json", await rest(url, alice.token, "GET", `/api/v4/users/me/teams/${teamId}/channels/members`));

    const unreads = await c.getMyTeamUnreads(true);
    expect(unreads.find((u) => u.team_id === teamId)).toMatchObject({ msg_count: 3, mention_count: 2, msg_count_root: 3, mention_count_root: 2 });
    expectGolden("read-state/teams-unread.json", await rest(url, alice.token, "GET", "/api/v4/users/me/teams/unread?include_collapsed_threads=true"));
    const one = await rest(url, alice.token, "GET", `/api/v4/users/me/teams/${teamId}/unread`);
    expectGolden("read-state/team-unread.json", one);
    expect(one.body).toMatchObject({ team_id: teamId, msg_count: 3, mention_count: 2 });
    // bob wrote all three: nothing unread for him.
    expect((await bob.client.getMyTeamUnreads()).find((u) => u.team_id === teamId)).toMatchObject({ msg_count: 0, mention_count: 0 });
  });

  it("mark_read, set_unread and view move the counters and tell only the user's own sessions", async () => {
    const c = alice.client;
    const from = alice2.events.length;
    const lastPostAt = (await c.getChannel(channelId)).last_post_at;

    const read = await c.readMultipleChannels([channelId]);
    expect(read.last_viewed_at_times).toEqual({ [channelId]: lastPostAt });
    const viewed = await alice2.next((m) => m.event === "multiple_channels_viewed", { from });
    expect(viewed.data).toEqual({ channel_times: { [channelId]: lastPostAt } });
    expect(viewed.broadcast).toMatchObject({ user_id: alice.id, channel_id: "", team_id: "" });
    expect(await c.getMyChannelMember(channelId)).toMatchObject({ msg_count: 3, mention_count: 0, last_viewed_at: lastPostAt });

    // Nothing unread any more: Mattermost answers the times and neither writes nor tells anyone.
    const before = await postsFingerprint(stack);
    const again = await rest(url, alice.token, "POST", "/api/v4/channels/members/me/mark_read", [channelId]);
    expectGolden("read-state/mark-read.json", again);
    expect(again.body).toEqual({ status: "OK", last_viewed_at_times: { [channelId]: lastPostAt } });
    expect(await postsFingerprint(stack)).toEqual(before);

    // Unread from the second post: it and the third are unread, both mention alice.
    const [, second] = posts as [(typeof posts)[0], (typeof posts)[0]];
    const fromUnread = alice2.events.length;
    const unread = await c.markPostAsUnread(alice.id, second.id);
    const want = {
      team_id: teamId,
      user_id: alice.id,
      channel_id: channelId,
      msg_count: 1,
      msg_count_root: 1,
      mention_count: 2,
      mention_count_root: 2,
      urgent_mention_count: 0,
      last_viewed_at: second.create_at - 1,
    };
    expect(unread).toEqual(want);
    const ev = await alice2.next((m) => m.event === "post_unread", { from: fromUnread });
    const { team_id: _t, user_id: _u, channel_id: _c, ...counters } = want;
    expect(ev.data).toEqual({ ...counters, post_id: second.id });
    expect(ev.broadcast).toMatchObject({ user_id: alice.id, channel_id: channelId, team_id: teamId });
    expect(await c.getMyChannelMember(channelId)).toMatchObject({ msg_count: 1, mention_count: 2, last_viewed_at: second.create_at - 1 });
    expectGolden(
      "read-state/set-unread.json",
      await rest(url, alice.token, "POST", `/api/v4/users/me/posts/${second.id}/set_unread`, { collapsed_threads_supported: true }),
    );
    await alice2.next((m) => m.event === "post_unread", { from: fromUnread + 1 });

    // Viewing the channel reads it again.
    const fromView = alice2.events.length;
    const view = await rest(url, alice.token, "POST", "/api/v4/channels/members/me/view", { channel_id: channelId, collapsed_threads_supported: true });
    expectGolden("read-state/view.json", view);
    expect(view.body).toEqual({ status: "OK", last_viewed_at_times: { [channelId]: lastPostAt } });
    await alice2.next((m) => m.event === "multiple_channels_viewed", { from: fromView });
    expect(await c.getMyChannelMember(channelId)).toMatchObject({ msg_count: 3, mention_count: 0 });

    // These events go to alice only. bob and carol share this gateway, so the hub has already
    // decided about them; bob's own post is a fence for his stream on top.
    const fence = await bob.client.createPost({ channel_id: channelId, message: "fence" });
    await bobWs.next((m) => m.event === "posted" && String(m.data?.post).includes(fence.id));
    expect(readStateEvents(bobWs)).toEqual([]);
    expect(readStateEvents(carolWs)).toEqual([]);
    expect(readStateEvents(alice2).map((e) => e.event)).toEqual(["multiple_channels_viewed", "post_unread", "post_unread", "multiple_channels_viewed"]);
  });

  it("counts every post of someone else as a mention in a group channel, live and when marked unread", async () => {
    const gm = await bob.client.createGroupChannel([alice.id, bob.id, carol.id]);
    const first = await bob.client.createPost({ channel_id: gm.id, message: "no names here" });
    await bob.client.createPost({ channel_id: gm.id, message: "still none" });
    await alice.client.createPost({ channel_id: gm.id, message: "mine does not count for me" });
    expect(await alice.client.getMyChannelMember(gm.id)).toMatchObject({ mention_count: 2, mention_count_root: 2 });
    expect(await carol.client.getMyChannelMember(gm.id)).toMatchObject({ msg_count: 0, mention_count: 3 });
    expect(await alice.client.markPostAsUnread(alice.id, first.id)).toMatchObject({ team_id: "", msg_count: 0, mention_count: 2 });
  });

  it("refuses bad input as Mattermost does and writes nothing", async () => {
    const second = posts[1]!.id;
    const cases: [string, () => ReturnType<typeof rest>][] = [
      ["read-state/channel-member-forbidden.json", () => rest(url, carol.token, "GET", `/api/v4/channels/${channelId}/members/me`)],
      ["read-state/channel-member-forbidden.json", () => rest(url, carol.token, "GET", `/api/v4/channels/${UNKNOWN}/members/me`)],
      ["read-state/channel-member-missing.json", () => rest(url, alice.token, "GET", `/api/v4/channels/${channelId}/members/${carol.id}`)],
      ["read-state/team-channel-members-forbidden.json", () => rest(url, carol.token, "GET", `/api/v4/users/me/teams/${teamId}/channels/members`)],
      ["read-state/team-channel-members-forbidden.json", () => rest(url, bob.token, "GET", `/api/v4/users/${alice.id}/teams/${teamId}/channels/members`)],
      ["read-state/mark-read-parse-error.json", () => rest(url, alice.token, "POST", "/api/v4/channels/members/me/mark_read", { not: "a list" })],
      ["read-state/mark-read-parse-error.json", () => rest(url, alice.token, "POST", "/api/v4/channels/members/me/mark_read", "[1, 2")],
      ["read-state/mark-read-parse-error.json", () => rest(url, alice.token, "POST", "/api/v4/channels/members/me/mark_read", "")],
      ["read-state/mark-read-empty.json", () => rest(url, alice.token, "POST", "/api/v4/channels/members/me/mark_read", [])],
      ["read-state/mark-read-empty.json", () => rest(url, alice.token, "POST", "/api/v4/channels/members/me/mark_read", "null")],
      ["read-state/mark-read-other-user.json", () => rest(url, bob.token, "POST", `/api/v4/channels/members/${alice.id}/mark_read`, [channelId])],
      // Not a member: Mattermost skips the channel (nothing to mark, nothing written).
      ["read-state/mark-read.json", () => rest(url, carol.token, "POST", "/api/v4/channels/members/me/mark_read", [channelId, UNKNOWN])],
      ["read-state/set-unread-forbidden.json", () => rest(url, alice.token, "POST", `/api/v4/users/me/posts/${UNKNOWN}/set_unread`, {})],
      ["read-state/set-unread-forbidden.json", () => rest(url, carol.token, "POST", `/api/v4/users/me/posts/${second}/set_unread`, {})],
      ["read-state/set-unread-forbidden.json", () => rest(url, bob.token, "POST", `/api/v4/users/${alice.id}/posts/${second}/set_unread`, {})],
      ["read-state/set-unread-bad-id.json", () => rest(url, alice.token, "POST", "/api/v4/users/me/posts/not-an-id/set_unread", {})],
      ["read-state/teams-unread-other-user.json", () => rest(url, carol.token, "GET", `/api/v4/users/${alice.id}/teams/unread`)],
      ["read-state/team-unread-forbidden.json", () => rest(url, carol.token, "GET", `/api/v4/users/me/teams/${teamId}/unread`)],
      ["read-state/team-unread-forbidden.json", () => rest(url, carol.token, "GET", `/api/v4/users/me/teams/${UNKNOWN}/unread`)],
    ];
    for (const [golden, call] of cases) await expectRefusedUnchanged(stack, golden, call);
    const carolMarks = await rest(url, carol.token, "POST", "/api/v4/channels/members/me/mark_read", [channelId]);
    expect(carolMarks.body).toEqual({ status: "OK", last_viewed_at_times: {} });
  });
});
