/**
 * The webapp's channel, team and post lookups through the stock Client4 (getChannelByName,
 * getChannelStats, getChannelsMemberCount, getMyTeamMembers, getTeamMembersByIds,
 * getTeamStats, pinPost/unpinPost, getPinnedPosts, getPostsByIds, getPosts paging), each
 * answer compared with its golden fixture; pins reach the channel's members as post_edited
 * and nobody else; refused calls answer as Mattermost does and write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@switchboard/testkit";
import { connect, newUser, postOf, type Recorder, type TestUser } from "./support.js";
import { expectGolden, expectRefusedUnchanged, rest } from "./webapp-support.js";

let stack: Stack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let teamId: string;
let ch: { id: string; name: string };
let priv: { id: string; name: string };
let postIds: string[];
let privPostId: string;
let alice2: Recorder;
let bobWs: Recorder;
let carolWs: Recorder;
const UNKNOWN = "zzzzzzzzzzzzzzzzzzzzzzzzzz";

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
  ch = await alice.client.createChannel({ team_id: teamId, name: `open${Date.now()}`, display_name: "Open", type: "O" } as never);
  priv = await alice.client.createChannel({ team_id: teamId, name: `priv${Date.now()}`, display_name: "Priv", type: "P" } as never);
  await alice.client.addToChannel(bob.id, ch.id);
  postIds = [];
  for (const message of ["one", "two", "three"]) postIds.push((await alice.client.createPost({ channel_id: ch.id, message })).id);
  privPostId = (await alice.client.createPost({ channel_id: priv.id, message: "secret" })).id;
  [alice2, bobWs, carolWs] = await Promise.all([connect(url, alice.token), connect(url, bob.token), connect(url, carol.token)]);
});

afterAll(async () => {
  for (const r of [alice2, bobWs, carolWs]) r?.close();
  await stack?.stop();
});

describe("channels and teams as the webapp reads them", () => {
  it("answers channel by name, stats, member counts, team members and team stats", async () => {
    const byName = await alice.client.getChannelByName(teamId, ch.name);
    expect(byName.id).toBe(ch.id);
    expectGolden("channels/channel-by-name.json", await rest(url, bob.token, "GET", `/api/v4/teams/${teamId}/channels/name/${ch.name}`));

    const stats = await alice.client.getChannelStats(ch.id);
    expect(stats).toEqual({ channel_id: ch.id, member_count: 2, guest_count: 0, pinnedpost_count: 0, files_count: -1 });
    expectGolden("channels/channel-stats-no-files.json", await rest(url, alice.token, "GET", `/api/v4/channels/${ch.id}/stats?exclude_files_count=true`));

    const counts = await alice.client.getChannelsMemberCount([ch.id, priv.id]);
    expect(counts).toEqual({ [ch.id]: 2, [priv.id]: 1 });
    expectGolden("channels/member-count.json", await rest(url, bob.token, "POST", "/api/v4/channels/stats/member_count", [ch.id]));

    const myTeams = await bob.client.getMyTeamMembers();
    expect(myTeams.map((m) => m.team_id)).toEqual([teamId]);
    expectGolden("teams/my-team-members.json", await rest(url, bob.token, "GET", "/api/v4/users/me/teams/members"));

    const byIds = await bob.client.getTeamMembersByIds(teamId, [alice.id, bob.id, carol.id]);
    expect(byIds.map((m) => m.user_id).sort()).toEqual([alice.id, bob.id].sort());
    expectGolden("teams/members-by-ids.json", await rest(url, bob.token, "POST", `/api/v4/teams/${teamId}/members/ids`, [alice.id, carol.id]));

    expect(await bob.client.getTeamStats(teamId)).toEqual({ team_id: teamId, total_member_count: 2, active_member_count: 2 });
    expectGolden("teams/team-stats.json", await rest(url, bob.token, "GET", `/api/v4/teams/${teamId}/stats`));
  });

  it("pins and unpins: post_edited to the channel's members only, pinned list and count follow", async () => {
    const [first] = postIds as [string];
    const fromA = alice2.events.length;
    const fromB = bobWs.events.length;
    expectGolden("posts/pin.json", await rest(url, bob.token, "POST", `/api/v4/posts/${first}/pin`));
    const edited = await alice2.next((m) => m.event === "post_edited", { from: fromA });
    expect(postOf(edited)).toMatchObject({ id: first, is_pinned: true });
    expect(edited.broadcast).toMatchObject({ channel_id: ch.id });
    expect(postOf(await bobWs.next((m) => m.event === "post_edited", { from: fromB }))).toMatchObject({ id: first, is_pinned: true });

    const pinned = await bob.client.getPinnedPosts(ch.id);
    expect(pinned.order).toEqual([first]);
    expect(pinned.posts[first]).toMatchObject({ is_pinned: true, message: "one" });
    expectGolden("posts/pinned.json", await rest(url, bob.token, "GET", `/api/v4/channels/${ch.id}/pinned`));
    expectGolden("channels/channel-stats.json", await rest(url, alice.token, "GET", `/api/v4/channels/${ch.id}/stats`));
    expect((await alice.client.getChannelStats(ch.id, true)).pinnedpost_count).toBe(1);

    const status = await alice.client.unpinPost(first);
    expect(status).toMatchObject({ status: "OK" });
    const unpinned = await alice2.next((m) => m.event === "post_edited" && postOf(m).is_pinned === false, { from: fromA });
    expect(postOf(unpinned)).toMatchObject({ id: first, is_pinned: false });
    expect((await alice.client.getPinnedPosts(ch.id)).order).toEqual([]);

    // carol is in neither the team nor the channel: the hub already decided about her (same gateway).
    expect(carolWs.events.filter((e) => e.event === "post_edited")).toEqual([]);
  });

  it("answers posts by id (only readable ones) and pages a channel's posts", async () => {
    const all = await alice.client.getPostsByIds([...postIds, privPostId]);
    expect(all.map((p) => p.id).sort()).toEqual([...postIds, privPostId].sort());
    // bob may not read the private channel: its post is left out, not refused.
    const some = await bob.client.getPostsByIds([postIds[0]!, privPostId]);
    expect(some.map((p) => p.id)).toEqual([postIds[0]]);
    expectGolden("posts/posts-by-ids.json", await rest(url, bob.token, "POST", "/api/v4/posts/ids", [postIds[0], privPostId]));

    await bob.client.addReaction(bob.id, postIds[0]!, "smile");
    const reactions = await alice.client.getReactionsForPost(postIds[0]!);
    expect(reactions.map((r) => [r.user_id, r.emoji_name])).toEqual([[bob.id, "smile"]]);
    expectGolden("posts/reactions.json", await rest(url, alice.token, "GET", `/api/v4/posts/${postIds[0]!}/reactions`));

    const page0 = await rest(url, bob.token, "GET", `/api/v4/channels/${ch.id}/posts?page=0&per_page=2`);
    expectGolden("posts/post-list.json", page0);
    const list0 = page0.body as { order: string[]; prev_post_id: string; next_post_id: string; has_next: boolean };
    expect(list0.order).toEqual([postIds[2], postIds[1]]);
    expect(list0.has_next).toBe(true);
    const page1 = await bob.client.getPosts(ch.id, 1, 2);
    expect(page1.order).toEqual([postIds[0]]);
    // Past the end: an empty list, not an error.
    const past = await rest(url, bob.token, "GET", `/api/v4/channels/${ch.id}/posts?page=50&per_page=2`);
    expectGolden("posts/post-list.json", past);
    expect((past.body as { order: string[] }).order).toEqual([]);
  });

  it("refuses bad input as Mattermost does and writes nothing", async () => {
    const first = postIds[0]!;
    const cases: [string, () => ReturnType<typeof rest>][] = [
      ["channels/channel-by-name-forbidden.json", () => rest(url, carol.token, "GET", `/api/v4/teams/${teamId}/channels/name/${ch.name}`)],
      ["channels/channel-by-name-private-hidden.json", () => rest(url, bob.token, "GET", `/api/v4/teams/${teamId}/channels/name/${priv.name}`)],
      ["channels/channel-by-name-missing.json", () => rest(url, bob.token, "GET", `/api/v4/teams/${teamId}/channels/name/nosuchchannel`)],
      ["channels/channel-by-name-bad-name.json", () => rest(url, bob.token, "GET", `/api/v4/teams/${teamId}/channels/name/Bad!Name`)],
      ["channels/channel-stats-forbidden.json", () => rest(url, carol.token, "GET", `/api/v4/channels/${ch.id}/stats`)],
      ["channels/channel-stats-forbidden.json", () => rest(url, bob.token, "GET", `/api/v4/channels/${priv.id}/stats`)],
      ["channels/channel-stats-forbidden.json", () => rest(url, bob.token, "GET", `/api/v4/channels/${UNKNOWN}/stats`)],
      ["channels/member-count-forbidden.json", () => rest(url, bob.token, "POST", "/api/v4/channels/stats/member_count", [ch.id, priv.id])],
      ["read-state/mark-read-parse-error.json", () => rest(url, bob.token, "POST", "/api/v4/channels/stats/member_count", { ids: [] })],
      ["teams/members-by-ids-forbidden.json", () => rest(url, carol.token, "POST", `/api/v4/teams/${teamId}/members/ids`, [alice.id])],
      ["teams/members-by-ids-forbidden.json", () => rest(url, carol.token, "POST", `/api/v4/teams/${UNKNOWN}/members/ids`, [alice.id])],
      ["teams/team-stats-forbidden.json", () => rest(url, carol.token, "GET", `/api/v4/teams/${teamId}/stats`)],
      ["posts/pin-forbidden.json", () => rest(url, carol.token, "POST", `/api/v4/posts/${first}/pin`)],
      ["posts/pin-forbidden.json", () => rest(url, bob.token, "POST", `/api/v4/posts/${privPostId}/pin`)],
      ["posts/pin-forbidden.json", () => rest(url, bob.token, "POST", `/api/v4/posts/${UNKNOWN}/unpin`)],
      ["posts/pinned-forbidden.json", () => rest(url, bob.token, "GET", `/api/v4/channels/${priv.id}/pinned`)],
      ["posts/posts-by-ids-parse-error.json", () => rest(url, bob.token, "POST", "/api/v4/posts/ids", '"x"')],
      ["posts/posts-by-ids-empty.json", () => rest(url, bob.token, "POST", "/api/v4/posts/ids", [])],
      ["posts/reactions-forbidden.json", () => rest(url, bob.token, "GET", `/api/v4/posts/${privPostId}/reactions`)],
      ["posts/reactions-forbidden.json", () => rest(url, bob.token, "GET", `/api/v4/posts/${UNKNOWN}/reactions`)],
    ];
    for (const [golden, call] of cases) await expectRefusedUnchanged(stack, golden, call);
  });
});
