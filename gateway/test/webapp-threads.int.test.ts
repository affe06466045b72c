/**
 * Collapsed reply threads on a real stack: replies and mentions make thread memberships with
 * unread replies and mentions; the thread routes answer as their golden fixtures say;
 * thread_updated, thread_read_changed and thread_follow_changed reach the user's sessions with
 * Mattermost's payloads and nobody else; refused calls answer as Mattermost does and write
 * nothing (no table of posts, no outbox row).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, waitFor, type Stack } from "@switchboard/testkit";
import { connect, newUser, type Recorder, type TestUser, type WsMessage } from "./support.js";
import { expectGolden, expectRefusedUnchanged, rest } from "./webapp-support.js";

let stack: Stack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let teamId: string;
let chId: string;
let aliceWs: Recorder;
let bobWs: Recorder;
let carolWs: Recorder;

interface Thread {
  id: string;
  reply_count: number;
  last_reply_at: number;
  last_viewed_at: number;
  participants: { id: string; username: string }[];
  post: { id: string; reply_count: number };
  unread_replies: number;
  unread_mentions: number;
}
interface Threads {
  total: number;
  total_unread_threads: number;
  total_unread_mentions: number;
  threads: Thread[];
}

const threadEvents = (r: Recorder): WsMessage[] => r.events.filter((e) => e.event?.startsWith("thread_"));
const threadOf = (m: WsMessage): Thread => JSON.parse(String(m.data?.thread)) as Thread;
const path = (userId = "me") => `/api/v4/users/${userId}/teams/${teamId}/threads`;

async function post(u: TestUser, message: string, rootId = ""): Promise<{ id: string; create_at: number }> {
  return u.client.createPost({ channel_id: chId, message, root_id: rootId });
}

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
  carol = await newUser(url, "carol");
  const team = await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never);
  teamId = team.id;
  await alice.client.addToTeam(teamId, bob.id);
  await alice.client.addToTeam(teamId, carol.id);
  chId = (await alice.client.createChannel({ team_id: teamId, name: `thr${Date.now()}`, display_name: "Threads", type: "P" } as never)).id;
  await alice.client.addToChannel(bob.id, chId);
  [aliceWs, bobWs, carolWs] = await Promise.all([connect(url, alice.token), connect(url, bob.token), connect(url, carol.token)]);
});

afterAll(async () => {
  for (const r of [aliceWs, bobWs, carolWs]) r?.close();
  await stack?.stop();
});

describe("collapsed reply threads", () => {
  let rootId: string;

  it("a reply makes the thread, follows the replier and the root's author, and tells each follower", async () => {
    rootId = (await post(alice, "a root")).id;
    const [a0, b0] = [aliceWs.events.length, bobWs.events.length];
    const reply = await post(bob, "a reply", rootId);

    const toAlice = await aliceWs.next((m) => m.event === "thread_updated", { from: a0 });
    expect(toAlice.broadcast).toMatchObject({ user_id: alice.id, team_id: teamId });
    expect(toAlice.data).toMatchObject({ previous_unread_mentions: 0, previous_unread_replies: 0 });
    const t = threadOf(toAlice);
    expect(t).toMatchObject({ id: rootId, reply_count: 1, last_reply_at: reply.create_at, last_viewed_at: 0, unread_replies: 1, unread_mentions: 0 });
    // extended: the participants (repliers only) as sanitized users.
    expect(t.participants.map((p) => [p.id, p.username])).toEqual([[bob.id, bob.username]]);
    expect(t.post).toMatchObject({ id: rootId, reply_count: 1 });

    const toBob = threadOf(await bobWs.next((m) => m.event === "thread_updated", { from: b0 }));
    expect(toBob).toMatchObject({ id: rootId, unread_replies: 0, unread_mentions: 0 });
    expect(toBob.last_viewed_at).toBeGreaterThanOrEqual(reply.create_at);

    const list = await rest(url, alice.token, "GET", path());
    expectGolden("threads/threads.json", list);
    const threads = list.body as Threads;
    expect(threads).toMatchObject({ total: 1, total_unread_threads: 1, total_unread_mentions: 0 });
    expect(threads.threads.map((x) => [x.id, x.unread_replies])).toEqual([[rootId, 1]]);
    expect(threads.threads[0]!.participants).toEqual([expect.objectContaining({ id: bob.id, username: "" })]);
    const extended = (await rest(url, alice.token, "GET", `${path()}?extended=true`)).body as Threads;
    expect(extended.threads[0]!.participants.map((p) => p.username)).toEqual([bob.username]);
    expect(((await rest(url, bob.token, "GET", path())).body as Threads).total_unread_threads).toBe(0);
  });

  it("a mention counts as an unread mention, with the counts before it in the event", async () => {
    const a0 = aliceWs.events.length;
    await post(bob, `look @${alice.username}`, rootId);
    const m = await aliceWs.next((e) => e.event === "thread_updated", { from: a0 });
    expect(m.data).toMatchObject({ previous_unread_mentions: 0, previous_unread_replies: 1 });
    expect(threadOf(m)).toMatchObject({ reply_count: 2, unread_replies: 2, unread_mentions: 1 });
    const one = await rest(url, alice.token, "GET", `${path()}/${rootId}`);
    expectGolden("threads/thread.json", one);
    expect(one.body).toMatchObject({ id: rootId, unread_replies: 2, unread_mentions: 1 });
    // The team's unreads count the unread followed threads when collapsed threads are asked for.
    type TeamUnread = { team_id: string; thread_count: number; thread_mention_count: number };
    const teamUnread = async (q: string) =>
      ((await rest(url, alice.token, "GET", `/api/v4/users/me/teams/unread${q}`)).body as TeamUnread[]).find((t) => t.team_id === teamId);
    expect(await teamUnread("?include_collapsed_threads=true")).toMatchObject({ thread_count: 1, thread_mention_count: 1 });
    expect(await teamUnread("")).toMatchObject({ thread_count: 0, thread_mention_count: 0 });
    expect((await rest(url, alice.token, "GET", `${path()}?totalsOnly=true`)).body).toMatchObject({
      total: 1,
      total_unread_threads: 1,
      total_unread_mentions: 1,
      threads: [],
    });
  });

  it("reading the thread clears it and sends thread_read_changed", async () => {
    const a0 = aliceWs.events.length;
    const ts = Date.now();
    const read = await rest(url, alice.token, "PUT", `${path()}/${rootId}/read/${String(ts)}`);
    expectGolden("threads/thread.json", read);
    expect(read.body).toMatchObject({ id: rootId, last_viewed_at: ts, unread_replies: 0, unread_mentions: 0 });
    const ev = await aliceWs.next((e) => e.event === "thread_read_changed", { from: a0 });
    expect(ev.data).toEqual({
      thread_id: rootId,
      timestamp: ts,
      unread_mentions: 0,
      unread_replies: 0,
      previous_unread_mentions: 1,
      previous_unread_replies: 2,
      channel_id: chId,
    });
    expect(ev.broadcast).toMatchObject({ user_id: alice.id, team_id: teamId });
    // Read back to before the replies: both unread again, the mention counted afresh.
    const back = await rest(url, alice.token, "PUT", `${path()}/${rootId}/read/1`);
    expect(back.body).toMatchObject({ unread_replies: 2, unread_mentions: 1 });

    // Unread from the last reply on (app/user.go UpdateThreadReadForUserByPost: read up to
    // just before it), then read again.
    await rest(url, alice.token, "PUT", `${path()}/${rootId}/read/${String(ts)}`);
    const list = (await rest(url, alice.token, "GET", `/api/v4/posts/${rootId}/thread`)).body as {
      order: string[];
      posts: Record<string, { create_at: number }>;
    };
    const last = list.order.filter((id) => id !== rootId).sort((x, y) => list.posts[y]!.create_at - list.posts[x]!.create_at)[0]!;
    const at = list.posts[last]!.create_at - 1;
    const a1 = aliceWs.events.length;
    const unread = await rest(url, alice.token, "PUT", `${path()}/${rootId}/set_unread/${last}`);
    expectGolden("threads/thread.json", unread);
    expect(unread.body).toMatchObject({ id: rootId, last_viewed_at: at, unread_replies: 1 });
    const changed = await aliceWs.next((e) => e.event === "thread_read_changed" && e.data?.timestamp === at, { from: a1 });
    expect(changed.data).toMatchObject({ thread_id: rootId, unread_replies: 1, previous_unread_replies: 0, channel_id: chId });
    // The root itself may be the post: everything after it is unread.
    const fromRoot = await rest(url, alice.token, "PUT", `${path()}/${rootId}/set_unread/${rootId}`);
    expect(fromRoot.body).toMatchObject({ unread_replies: 2, unread_mentions: 1 });
  });

  it("unfollowing stops thread_updated until a mention follows again; mark all read", async () => {
    const a0 = aliceWs.events.length;
    expectGolden("threads/ok.json", await rest(url, alice.token, "DELETE", `${path()}/${rootId}/following`));
    const fc = await aliceWs.next((e) => e.event === "thread_follow_changed", { from: a0 });
    expect(fc.data).toEqual({ thread_id: rootId, state: false, reply_count: 2 });
    expect((await rest(url, alice.token, "GET", path())).body).toMatchObject({ total: 0, threads: [] });

    const b0 = bobWs.events.length;
    await post(bob, "no mention", rootId);
    await bobWs.next((e) => e.event === "thread_updated", { from: b0 });
    await post(bob, `again @${alice.username}`, rootId);
    const back = await aliceWs.next((e) => e.event === "thread_updated", { from: a0 });
    expect(back.data).toMatchObject({ previous_unread_mentions: 0, previous_unread_replies: 0 });
    expect(threadOf(back)).toMatchObject({ reply_count: 4 });
    // Only the mention's reply told alice (none while she did not follow).
    expect(aliceWs.events.slice(a0).filter((e) => e.event === "thread_updated")).toHaveLength(1);

    expectGolden("threads/ok.json", await rest(url, alice.token, "PUT", `${path()}/${rootId}/following`));
    expect((await aliceWs.next((e) => e.event === "thread_follow_changed" && e.data?.state === true, { from: a0 })).data).toEqual({
      thread_id: rootId,
      state: true,
      reply_count: 4,
    });

    await post(bob, `more @${alice.username}`, rootId);
    await waitFor(async () => (((await rest(url, alice.token, "GET", path())).body as Threads).total_unread_mentions > 0 ? true : undefined), {
      what: "an unread mention",
    });
    const a1 = aliceWs.events.length;
    expectGolden("threads/ok.json", await rest(url, alice.token, "PUT", `${path()}/read`));
    const all = await aliceWs.next((e) => e.event === "thread_read_changed", { from: a1 });
    expect(all.data ?? {}).toEqual({});
    expect(all.broadcast).toMatchObject({ user_id: alice.id, team_id: teamId });
    expect((await rest(url, alice.token, "GET", path())).body).toMatchObject({ total: 1, total_unread_threads: 0, total_unread_mentions: 0 });

    // carol is in the team but not the channel: she hears nothing of it.
    expect(threadEvents(carolWs)).toEqual([]);
  });

  it("pages with before/after and filters unread", async () => {
    const second = (await post(bob, "second root")).id;
    await post(alice, "reply to second", second);
    const page = (await rest(url, alice.token, "GET", `${path()}?per_page=1`)).body as Threads;
    expect(page.threads.map((t) => t.id)).toEqual([second]);
    expect(page.total).toBe(2);
    const older = (await rest(url, alice.token, "GET", `${path()}?per_page=1&before=${second}`)).body as Threads;
    expect(older.threads.map((t) => t.id)).toEqual([rootId]);
    const newer = (await rest(url, alice.token, "GET", `${path()}?after=${rootId}`)).body as Threads;
    expect(newer.threads.map((t) => t.id)).toEqual([second]);
    const unread = (await rest(url, bob.token, "GET", `${path()}?unread=true`)).body as Threads;
    expect(unread.threads.map((t) => t.id)).toEqual([second]);
    expect(unread.total).toBe(unread.total_unread_threads);
    expect((await rest(url, alice.token, "GET", `${path()}?threadsOnly=true`)).body).toMatchObject({ total: 0, total_unread_threads: 0 });
  });

  it("@channel, @all and @here in a reply make the members they mention followers (app/notification.go SendNotifications)", async () => {
    const [dave, erin] = [await newUser(url, "dave"), await newUser(url, "erin")];
    await alice.client.addToTeam(teamId, dave.id);
    await alice.client.addToTeam(teamId, erin.id);
    const ch = (await alice.client.createChannel({ team_id: teamId, name: `wide${Date.now()}`, display_name: "Wide", type: "O" } as never)).id;
    for (const u of [bob, dave, erin]) await alice.client.addToChannel(u.id, ch);
    const threadsOf = async (u: TestUser) => (await rest(url, u.token, "GET", `/api/v4/users/me/teams/${teamId}/threads`)).body as Threads;
    const reply = async (root: string, message: string) => bob.client.createPost({ channel_id: ch, message, root_id: root });
    const before = [(await threadsOf(dave)).total, (await threadsOf(erin)).total];

    for (const word of ["channel", "all"]) {
      const root = (await alice.client.createPost({ channel_id: ch, message: `root for @${word}` })).id;
      await reply(root, `look @${word}`);
      for (const u of [dave, erin]) {
        const t = (await threadsOf(u)).threads.find((x) => x.id === root);
        expect(t, `${word}: ${u.username}`).toMatchObject({ unread_replies: 1, unread_mentions: 1 });
      }
    }
    // @here: only the member who is online (dave, with a socket) follows.
    const daveWs = await connect(url, dave.token);
    try {
      await waitFor(async () => ((await rest(url, alice.token, "GET", `/api/v4/users/${dave.id}/status`)).body as { status: string }).status === "online", {
        what: "dave online",
      });
      const root = (await alice.client.createPost({ channel_id: ch, message: "root for @here" })).id;
      await reply(root, "look @here");
      expect((await threadsOf(dave)).threads.find((x) => x.id === root)).toMatchObject({ unread_mentions: 1 });
      expect((await threadsOf(erin)).threads.find((x) => x.id === root)).toBeUndefined();
    } finally {
      daveWs.close();
    }
    expect([(await threadsOf(dave)).total, (await threadsOf(erin)).total]).toEqual([before[0]! + 3, before[1]! + 2]);
  });

  it("refuses bad input as Mattermost does and writes nothing", async () => {
    const lonely = (await post(alice, "no replies")).id;
    const ok = "zzzzzzzzzzzzzzzzzzzzzzzzzz";
    const cases: [string, () => ReturnType<typeof rest>][] = [
      ["threads/forbidden.json", () => rest(url, carol.token, "GET", path(alice.id))],
      ["threads/forbidden.json", () => rest(url, carol.token, "GET", `${path()}/${rootId}`)],
      ["threads/forbidden.json", () => rest(url, carol.token, "PUT", `${path()}/${rootId}/following`)],
      ["threads/forbidden.json", () => rest(url, carol.token, "PUT", `${path()}/${rootId}/read/1`)],
      ["threads/forbidden.json", () => rest(url, alice.token, "PUT", `${path()}/${ok}/following`)],
      ["threads/forbidden.json", () => rest(url, bob.token, "PUT", path(alice.id) + "/read")],
      ["threads/forbidden.json", () => rest(url, bob.token, "GET", `/api/v4/users/me/teams/${ok}/threads`)],
      ["threads/bad-params.json", () => rest(url, alice.token, "GET", `${path()}?before=${rootId}&after=${rootId}`)],
      ["threads/bad-only-params.json", () => rest(url, alice.token, "GET", `${path()}?totalsOnly=true&threadsOnly=true`)],
      ["threads/invalid-param.json", () => rest(url, alice.token, "GET", `${path()}?since=yesterday`)],
      ["threads/invalid-url-param.json", () => rest(url, alice.token, "GET", `${path()}/not-an-id`)],
      ["threads/not-found.json", () => rest(url, alice.token, "GET", `${path()}/${lonely}`)],
      ["threads/not-found.json", () => rest(url, alice.token, "PUT", `${path()}/${lonely}/read/1`)],
      ["threads/forbidden.json", () => rest(url, carol.token, "PUT", `${path()}/${rootId}/set_unread/${rootId}`)],
      ["threads/invalid-url-param.json", () => rest(url, alice.token, "PUT", `${path()}/${rootId}/set_unread/not-an-id`)],
      ["threads/set-unread-not-in-thread.json", () => rest(url, alice.token, "PUT", `${path()}/${rootId}/set_unread/${lonely}`)],
      ["threads/set-unread-unknown-post.json", () => rest(url, alice.token, "PUT", `${path()}/${rootId}/set_unread/${ok}`)],
    ];
    for (const [golden, call] of cases) await expectRefusedUnchanged(stack, golden, call);
  });
});
