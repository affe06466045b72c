/**
 * What the webapp does when a user opens it, through its own data layer (mattermost-redux,
 * unmodified: Client4, store, actions) against a running stack: boot, the sidebar, the team's
 * unreads, opening a channel, posting with a pending id, a reply and its thread, a reaction, an
 * edit, a pin, reading, users, preferences, a new channel, and the counts after another user
 * posts. After each step the store is checked, and every request the step made is compared
 * with the golden fixture of what Mattermost answers (a request without a fixture fails).
 *
 * Beside it, a second session of the same user on the stock WebSocketClient receives the
 * events each step makes, and a team member outside the channel receives none of them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as CategoriesActions from "mattermost-redux/actions/channel_categories";
import type * as ChannelsActions from "mattermost-redux/actions/channels";
import type * as PostsActions from "mattermost-redux/actions/posts";
import type * as PreferencesActions from "mattermost-redux/actions/preferences";
import type * as PreferencesSelectors from "mattermost-redux/selectors/entities/preferences";
import type * as TeamsActions from "mattermost-redux/actions/teams";
import type * as UsersActions from "mattermost-redux/actions/users";
import { startStack, waitFor, type Stack } from "@switchboard/testkit";
import { goldenDiffs } from "../golden-check.js";
import { connect, postOf, teamWithChannel, type Recorder, type TestUser, type WsMessage } from "../support.js";
import { redux, webappSession, type WebappSession } from "./webapp-store.js";

const users = redux<typeof UsersActions>("mattermost-redux/actions/users");
const channels = redux<typeof ChannelsActions>("mattermost-redux/actions/channels");
const categories = redux<typeof CategoriesActions>("mattermost-redux/actions/channel_categories");
const teams = redux<typeof TeamsActions>("mattermost-redux/actions/teams");
const posts = redux<typeof PostsActions>("mattermost-redux/actions/posts");
const preferences = redux<typeof PreferencesActions>("mattermost-redux/actions/preferences");
const preferenceSelectors = redux<typeof PreferencesSelectors>("mattermost-redux/selectors/entities/preferences");

/** Each request the webapp makes here, by method and path, and the fixture its answer must match. */
const GOLDEN: readonly [RegExp, string][] = [
  [/^GET \/api\/v4\/users\/me$/, "boot/users-me"],
  [/^GET \/api\/v4\/config\/client\?format=old$/, "boot/config-client"],
  [/^POST \/api\/v4\/roles\/names$/, "boot/roles-names"],
  [/^GET \/api\/v4\/license\/client\?format=old$/, "boot/license-client"],
  [/^GET \/api\/v4\/limits\/server$/, "boot/limits-server"],
  [/^GET \/api\/v4\/users\/me\/preferences$/, "preferences/get"],
  [/^PUT \/api\/v4\/users\/\w+\/preferences$/, "preferences/put"],
  [/^GET \/api\/v4\/users\/me\/teams$/, "teams/my-teams"],
  [/^GET \/api\/v4\/users\/me\/teams\/members$/, "teams/my-team-members"],
  [/^GET \/api\/v4\/users\/me\/teams\/unread(\?.*)?$/, "read-state/teams-unread"],
  [/^GET \/api\/v4\/users\/me\/teams\/\w+\/channels\?/, "channels/my-team-channels"],
  [/^GET \/api\/v4\/users\/me\/teams\/\w+\/channels\/members$/, "read-state/team-channel-members"],
  [/^GET \/api\/v4\/users\/\w+\/teams\/\w+\/channels\/categories$/, "sidebar/categories"],
  [/^PUT \/api\/v4\/users\/\w+\/teams\/\w+\/channels\/categories$/, "sidebar/categories-updated"],
  [/^GET \/api\/v4\/channels\/\w+\/posts\?/, "posts/post-list"],
  [/^GET \/api\/v4\/channels\/\w+\/stats(\?.*)?$/, "channels/channel-stats"],
  [/^GET \/api\/v4\/users\?in_channel=/, "users/list"],
  [/^GET \/api\/v4\/channels\/\w+\/members\/me$/, "read-state/channel-member"],
  [/^POST \/api\/v4\/posts$/, "posts/create"],
  [/^GET \/api\/v4\/posts\/\w+\/thread(\?.*)?$/, "posts/thread"],
  [/^POST \/api\/v4\/reactions$/, "posts/reaction"],
  [/^PUT \/api\/v4\/posts\/\w+\/patch$/, "posts/patch"],
  [/^POST \/api\/v4\/posts\/\w+\/pin$/, "posts/pin"],
  [/^POST \/api\/v4\/channels\/members\/me\/view$/, "read-state/view"],
  [/^POST \/api\/v4\/channels\/members\/me\/mark_read$/, "read-state/mark-read"],
  [/^GET \/api\/v4\/users\/autocomplete\?/, "users/autocomplete"],
  [/^POST \/api\/v4\/users\/ids(\?.*)?$/, "users/ids"],
  [/^POST \/api\/v4\/channels$/, "channels/create"],
  [/^POST \/api\/v4\/users\/status\/ids$/, "users/statuses"],
];

let stack: Stack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let teamId: string;
let chId: string;
let fenceId: string;
let web: WebappSession;
/** alice's second session, and carol (in the team, not in the channel). */
let alice2: Recorder;
let carolWs: Recorder;

type Result<T = unknown> = { data?: T; error?: unknown };

/** Every request made since `from` has an answer matching its golden fixture; returns their routes. */
function checkCalls(from: number): string[] {
  const routes: string[] = [];
  for (const c of web.since(from)) {
    const route = `${c.method} ${c.path}`;
    const g = GOLDEN.find(([re]) => re.test(route));
    expect(g, `a request without a fixture: ${route} (${c.status})`).toBeDefined();
    expect(
      goldenDiffs(...(g![1].split("/") as [string, string]), { status: c.status, body: c.body, headers: new Headers() }),
      `${route} ${JSON.stringify(c.body)}`,
    ).toEqual([]);
    routes.push(route.replace(/\?.*$/, ""));
  }
  return routes;
}

/** Runs a step: dispatches it, waits until the requests it started were answered, checks them. */
async function step<T>(action: unknown, o: { calls?: number } = {}): Promise<{ r: Result<T>; routes: string[] }> {
  const from = web.calls.length;
  const r = await web.dispatch<Result<T>>(action);
  expect(r.error, JSON.stringify(r.error)).toBeUndefined();
  if (o.calls !== undefined) await waitFor(() => web.calls.length - from >= o.calls!, { what: "the step's requests" });
  return { r, routes: checkCalls(from) };
}

/** The next event named `name` that alice's second session receives from `from` on. */
const nextFor = (r: Recorder, name: string, from: number, pred: (m: WsMessage) => boolean = () => true) => r.next((m) => m.event === name && pred(m), { from });

const state = () => web.store.getState().entities;

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
  const cast = await teamWithChannel(url, ["alice", "bob", "carol"], "dl", "Data layer");
  [alice, bob, carol] = cast.users as [TestUser, TestUser, TestUser];
  teamId = cast.teamId;
  chId = cast.channelId;
  fenceId = (await bob.client.createChannel({ team_id: teamId, name: `fence${Date.now()}`, display_name: "Fence", type: "O" } as never)).id;
  await bob.client.addToChannel(carol.id, fenceId);
  web = await webappSession(url, alice.username, "password-1");
  alice2 = await connect(url, alice.token);
  carolWs = await connect(url, carol.token);
});

afterAll(async () => {
  alice2?.close();
  carolWs?.close();
  await stack?.stop();
});

describe("the webapp's data layer, step by step", () => {
  it("loadMe", async () => {
    const { r, routes } = await step<boolean>(users.loadMe());
    expect(r.data).toBe(true);
    expect(routes).toEqual(expect.arrayContaining(["GET /api/v4/users/me", "GET /api/v4/users/me/teams/members", "POST /api/v4/roles/names"]));
    expect(state().users.currentUserId).toBe(alice.id);
    expect(Object.keys(state().teams.myMembers)).toEqual([teamId]);
    await web.dispatch(teams.selectTeam(teamId));
  });

  it("fetchChannelsAndMembers and the categories", async () => {
    const { routes } = await step(channels.fetchChannelsAndMembers(teamId));
    expect(routes).toEqual(expect.arrayContaining([`GET /api/v4/users/me/teams/${teamId}/channels`, `GET /api/v4/users/me/teams/${teamId}/channels/members`]));
    expect(state().channels.channels[chId]?.display_name).toBe("Data layer");
    expect(state().channels.myMembers[chId]?.user_id).toBe(alice.id);
    expect(state().channels.channels[fenceId]).toBeUndefined();

    const from = web.calls.length;
    await web.dispatch(categories.fetchMyCategories(teamId));
    checkCalls(from);
    const cats = Object.values(state().channelCategories.byId).filter((c) => c.team_id === teamId);
    expect(cats.map((c) => c.type).sort()).toEqual(["channels", "direct_messages", "favorites"]);
    expect(cats.find((c) => c.type === "channels")?.channel_ids).toContain(chId);
  });

  it("getMyTeamUnreads", async () => {
    await step(teams.getMyTeamUnreads(false));
    expect(state().teams.myMembers[teamId]).toMatchObject({ msg_count: 0, mention_count: 0 });
  });

  it("opens a channel: getPosts, getChannelStats, getProfilesInChannel, getMyChannelMember", async () => {
    await bob.client.createPost({ channel_id: chId, message: "before alice looked" });
    await step(posts.getPosts(chId, 0, 30));
    expect(state().posts.postsInChannel[chId]?.[0]?.order.map((id) => state().posts.posts[id]?.message)).toContain("before alice looked");
    const stats = await step<{ member_count: number }>(channels.getChannelStats(chId));
    expect(stats.r.data?.member_count).toBe(2);
    expect(state().channels.stats[chId]).toMatchObject({ member_count: 2, pinnedpost_count: 0 });
    await step(users.getProfilesInChannel(chId, 0, 60));
    expect([...(state().users.profilesInChannel[chId] ?? [])].sort()).toEqual([alice.id, bob.id].sort());
    await step(channels.getMyChannelMember(chId));
    expect(state().channels.myMembers[chId]).toMatchObject({ channel_id: chId, user_id: alice.id, mention_count: 0 });
  });

  let rootId = "";
  it("posts with a pending id, replies, and reads the thread", async () => {
    const pending = `${alice.id}:${Date.now()}`;
    const from = alice2.events.length;
    await step(posts.createPost({ channel_id: chId, message: "hello from the webapp", pending_post_id: pending } as never), { calls: 1 });
    const posted = await nextFor(alice2, "posted", from, (m) => postOf(m).pending_post_id === pending);
    rootId = String(postOf(posted).id);
    expect(postOf(posted).pending_post_id).toBe(pending);
    await waitFor(() => state().posts.posts[rootId]?.pending_post_id === pending, { what: "the created post in the store" });
    expect(state().posts.posts[pending]).toBeUndefined(); // the pending copy is replaced

    const fromReply = alice2.events.length;
    await step(posts.createPost({ channel_id: chId, message: "a reply", root_id: rootId } as never), { calls: 1 });
    const reply = postOf(await nextFor(alice2, "posted", fromReply));
    expect(reply.root_id).toBe(rootId);
    await waitFor(() => state().posts.posts[String(reply.id)]?.root_id === rootId, { what: "the reply in the store" });

    const { r } = await step<{ posts: Record<string, { id: string }> }>(posts.getPostThread(rootId));
    expect(r.data?.posts[rootId]?.id).toBe(rootId);
    // As answered (the action's result is the store's copy): the reply, then the root.
    const answered = web.calls.findLast((c) => c.path.startsWith(`/api/v4/posts/${rootId}/thread`))?.body as { order: string[] };
    expect(answered.order).toEqual([String(reply.id), rootId]);
    expect(state().posts.postsInThread[rootId]).toEqual([String(reply.id)]);

    // Threads are collapsed (the client config says always_on, as Mattermost ships): the
    // channel's posts are its root posts, the root counting its reply; the reply stays out.
    expect(preferenceSelectors.isCollapsedThreadsEnabled(web.store.getState())).toBe(true);
    const { routes } = await step(posts.getPosts(chId, 0, 30));
    const asked = web.calls.findLast((c) => c.path.startsWith(`/api/v4/channels/${chId}/posts?`))!;
    expect(asked.path).toContain("collapsedThreads=true");
    expect(routes).toEqual([`GET /api/v4/channels/${chId}/posts`]);
    const answer = asked.body as { order: string[]; posts: Record<string, { root_id: string }> };
    expect(answer.order).toContain(rootId);
    expect(Object.values(answer.posts).filter((p) => p.root_id !== "")).toEqual([]);
    const inChannel = state().posts.postsInChannel[chId]?.flatMap((b) => b.order) ?? [];
    expect(inChannel).toContain(rootId);
    expect(inChannel).not.toContain(String(reply.id));
    expect(state().posts.posts[rootId]).toMatchObject({ reply_count: 1, participants: [{ id: alice.id }] });
  });

  it("reacts, edits and pins", async () => {
    let from = alice2.events.length;
    await step(posts.addReaction(rootId, "smile"));
    const reacted = await nextFor(alice2, "reaction_added", from);
    expect(JSON.parse(String(reacted.data?.reaction))).toMatchObject({ post_id: rootId, user_id: alice.id, emoji_name: "smile" });
    expect(Object.keys(state().posts.reactions[rootId] ?? {})).toEqual([`${alice.id}-smile`]);

    from = alice2.events.length;
    await step(posts.editPost({ id: rootId, message: "hello, edited" } as never));
    const edited = await nextFor(alice2, "post_edited", from);
    expect(postOf(edited)).toMatchObject({ id: rootId, message: "hello, edited" });
    expect(state().posts.posts[rootId]?.message).toBe("hello, edited");
    expect(state().posts.posts[rootId]?.edit_at).toBeGreaterThan(0);

    from = alice2.events.length;
    await step(posts.pinPost(rootId));
    const pinned = await nextFor(alice2, "post_edited", from);
    expect(postOf(pinned)).toMatchObject({ id: rootId, is_pinned: true });
    expect(state().posts.posts[rootId]?.is_pinned).toBe(true);
    expect(state().channels.stats[chId]?.pinnedpost_count).toBe(1);
  });

  it("markChannelAsRead / readMultipleChannels", async () => {
    let from = alice2.events.length;
    await bob.client.createPost({ channel_id: chId, message: "something to read" });
    await nextFor(alice2, "posted", from);
    from = alice2.events.length;
    const { routes } = await step(channels.markChannelAsRead(chId), { calls: 1 });
    expect(routes).toContain("POST /api/v4/channels/members/me/view");
    const viewed = await nextFor(alice2, "multiple_channels_viewed", from);
    expect(Object.keys(viewed.data?.channel_times as object)).toEqual([chId]);
    expect(state().channels.myMembers[chId]?.msg_count).toBe(state().channels.messageCounts[chId]?.total);

    // Nothing left unread: no event (app/channel.go MarkChannelsAsViewed), so something new first.
    from = alice2.events.length;
    await bob.client.createPost({ channel_id: chId, message: "something more" });
    await nextFor(alice2, "posted", from);
    from = alice2.events.length;
    await step(channels.readMultipleChannels([chId]));
    await nextFor(alice2, "multiple_channels_viewed", from);
    expect(state().channels.myMembers[chId]?.mention_count).toBe(0);
    expect(state().channels.myMembers[chId]?.last_viewed_at).toBeGreaterThan(0);
  });

  it("autocompleteUsers, getProfilesByIds, savePreferences, createChannel", async () => {
    const ac = await step<{ users: { id: string }[] }>(users.autocompleteUsers(bob.username.slice(0, 6), teamId, chId));
    expect(ac.r.data?.users.map((u) => u.id)).toEqual([bob.id]);

    await step(users.getProfilesByIds([carol.id]));
    expect(state().users.profiles[carol.id]?.username).toBe(carol.username);

    let from = alice2.events.length;
    const pref = { user_id: alice.id, category: "display_settings", name: "use_military_time", value: "true" };
    await step(preferences.savePreferences(alice.id, [pref]));
    const changed = await nextFor(alice2, "preferences_changed", from);
    expect(JSON.parse(String(changed.data?.preferences))).toEqual([pref]);
    expect(state().preferences.myPreferences["display_settings--use_military_time"]?.value).toBe("true");

    from = alice2.events.length;
    const fromCall = web.calls.length;
    const created = await step<{ id: string }>(
      channels.createChannel({ team_id: teamId, name: `new${Date.now()}`, display_name: "New", type: "O" } as never, alice.id),
    );
    // createChannel files the channel in its category without awaiting it
    // (addChannelToInitialCategory's PUT): wait for that answer too, and check it.
    const put = (c: { method: string; path: string }) => c.method === "PUT" && c.path.endsWith("/channels/categories");
    await waitFor(() => web.since(fromCall).some(put), { what: "the category update" });
    checkCalls(web.calls.findIndex((c, i) => i >= fromCall && put(c)));
    const newId = created.r.data!.id;
    const ev = await nextFor(alice2, "channel_created", from);
    expect(ev.data).toMatchObject({ channel_id: newId, team_id: teamId });
    expect(state().channels.channels[newId]?.display_name).toBe("New");
    expect(state().channels.myMembers[newId]?.user_id).toBe(alice.id);
  });

  it("unread and mention counts after another user posts", async () => {
    const from = alice2.events.length;
    await bob.client.createPost({ channel_id: chId, message: `look @${alice.username}` });
    const posted = await nextFor(alice2, "posted", from);
    expect(JSON.parse(String(posted.data?.mentions))).toEqual([alice.id]);

    await step(channels.fetchChannelsAndMembers(teamId));
    const me = state().channels.myMembers[chId]!;
    expect(state().channels.messageCounts[chId]!.total - me.msg_count).toBe(1);
    expect(me.mention_count).toBe(1);
    await step(channels.getMyChannelMember(chId));
    expect(state().channels.myMembers[chId]).toMatchObject({ mention_count: 1 });
    await step(teams.getMyTeamUnreads(false));
    expect(state().teams.myMembers[teamId]).toMatchObject({ msg_count: 1, mention_count: 1 });
  });

  it("a team member outside the channel received none of these events", async () => {
    const from = carolWs.events.length;
    const fence = await bob.client.createPost({ channel_id: fenceId, message: "fence" });
    await carolWs.next((m) => m.event === "posted" && postOf(m).id === fence.id, { from });
    // Her own status as she connected (status_change to herself), then the fence.
    const seen = carolWs.events.filter((m) => m.event !== undefined && m.event !== "hello" && !(m.event === "status_change" && m.data?.user_id === carol.id));
    expect(seen.map((m) => m.event)).toEqual(["posted"]);
    // alice's second session had every channel event, and her own read and preference events.
    const names = new Set(alice2.events.map((e) => e.event));
    for (const n of ["posted", "reaction_added", "post_edited", "multiple_channels_viewed", "preferences_changed", "channel_created"])
      expect(names).toContain(n);
  });
});
