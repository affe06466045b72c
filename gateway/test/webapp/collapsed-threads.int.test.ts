/**
 * Channel post lists with collapsed reply threads (the webapp asks `collapsedThreads=true`
 * since the client config says CollapsedThreads "always_on"), through REST against a running
 * stack: root posts only in every variant (page, before, after, since) and in the cursors,
 * each root with its thread's reply count, last reply, participants and the caller's
 * following (store/sqlstore/post_store.go getPostsCollapsedThreads, getPostsAround,
 * getPostsSinceCollapsedThreads, prepareThreadedResponse); `posted` for a reply still names
 * the thread's followers, and they get thread_updated.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@switchboard/testkit";
import { connect, postOf, teamWithChannel, type Recorder, type TestUser } from "../support.js";
import { expectGolden, rest } from "../webapp-support.js";

interface ListPost {
  id: string;
  root_id: string;
  reply_count: number;
  last_reply_at: number;
  participants: { id: string; username: string }[] | null;
  is_following?: boolean;
}
interface List {
  order: string[];
  posts: Record<string, ListPost>;
  next_post_id: string;
  prev_post_id: string;
  has_next: boolean;
}

let stack: Stack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let chId: string;
let aliceWs: Recorder;
/** In order of creation: r1 (alice), rep1 (bob, to r1), r2 (bob), rep2 (alice, to r1), r3 (alice). */
let r1: { id: string; create_at: number };
let rep1: { id: string; create_at: number };
let r2: { id: string; create_at: number };
let rep2: { id: string; create_at: number };
let r3: { id: string; create_at: number };

async function list(u: TestUser, query: string): Promise<List> {
  const a = await rest(url, u.token, "GET", `/api/v4/channels/${chId}/posts?${query}`);
  expectGolden("posts/post-list.json", a);
  return a.body as List;
}

/** Every post of a collapsed list is a root, and `order` is its posts' ids. */
function rootsOnly(l: List): void {
  expect(Object.values(l.posts).filter((p) => p.root_id !== "")).toEqual([]);
  expect(Object.keys(l.posts).sort()).toEqual([...l.order].sort());
}

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
  const cast = await teamWithChannel(url, ["alice", "bob"], "crt", "CRT");
  [alice, bob] = cast.users as [TestUser, TestUser];
  chId = cast.channelId;
  aliceWs = await connect(url, alice.token);
  r1 = await alice.client.createPost({ channel_id: chId, message: "root one" });
  rep1 = await bob.client.createPost({ channel_id: chId, message: "reply one", root_id: r1.id });
  r2 = await bob.client.createPost({ channel_id: chId, message: "root two" });
  rep2 = await alice.client.createPost({ channel_id: chId, message: "reply two", root_id: r1.id });
  r3 = await alice.client.createPost({ channel_id: chId, message: "root three" });
});

afterAll(async () => {
  aliceWs?.close();
  await stack?.stop();
});

describe("channel post lists with collapsed reply threads", () => {
  it("without collapsedThreads, replies are in the list", async () => {
    const l = await list(alice, "page=0&per_page=60");
    expect(l.order).toEqual([r3.id, rep2.id, r2.id, rep1.id, r1.id]);
  });

  it("a page holds root posts only, each with its thread as the caller sees it", async () => {
    const l = await list(alice, "page=0&per_page=60&collapsedThreads=true");
    expect(l.order).toEqual([r3.id, r2.id, r1.id]);
    rootsOnly(l);
    const one = l.posts[r1.id]!;
    expect(one).toMatchObject({ reply_count: 2, last_reply_at: rep2.create_at, is_following: true });
    // The repliers in the order they first replied, as id-only users without collapsedThreadsExtended.
    expect(one.participants?.map((u) => u.id)).toEqual([bob.id, alice.id]);
    expect(one.participants?.map((u) => u.username)).toEqual(["", ""]);
    expectGolden("posts/post-list-crt-root.json", { status: 200, body: one });
    // No thread: no reply, no participants (null, as a nil slice), no following (omitted).
    for (const id of [r2.id, r3.id]) {
      expect(l.posts[id]).toMatchObject({ reply_count: 0, last_reply_at: 0, participants: null });
      expect(l.posts[id]).not.toHaveProperty("is_following");
    }
    expect(l).toMatchObject({ next_post_id: "", prev_post_id: "", has_next: false });
  });

  it("the caller's own following, and participants as full users when extended", async () => {
    const l = await list(bob, "page=0&per_page=60&collapsedThreads=true&collapsedThreadsExtended=true");
    rootsOnly(l);
    expect(l.posts[r1.id]?.is_following).toBe(true);
    expect(l.posts[r1.id]?.participants?.map((u) => u.username)).toEqual([bob.username, alice.username]);
    expectGolden("posts/post-list-crt-root-extended.json", { status: 200, body: l.posts[r1.id] });
  });

  it("cursors, before, after and since skip replies", async () => {
    const first = await list(alice, "page=0&per_page=1&collapsedThreads=true");
    // The next older root is r2, not the reply rep2 between them.
    expect(first).toMatchObject({ order: [r3.id], prev_post_id: r2.id, next_post_id: "", has_next: true });
    const second = await list(alice, "page=1&per_page=1&collapsedThreads=true");
    expect(second).toMatchObject({ order: [r2.id], prev_post_id: r1.id, next_post_id: r3.id });

    const before = await list(alice, `before=${r3.id}&per_page=60&collapsedThreads=true`);
    expect(before.order).toEqual([r2.id, r1.id]);
    rootsOnly(before);
    const after = await list(alice, `after=${r1.id}&per_page=60&collapsedThreads=true`);
    expect(after.order).toEqual([r3.id, r2.id]);
    rootsOnly(after);
    expect(after.prev_post_id).toBe(r1.id);

    // Since rep1: the roots changed since (r1 by rep2's reply, r2, r3), none of the replies.
    const plain = await list(alice, `since=${rep1.create_at - 1}`);
    expect(plain.order).toEqual(expect.arrayContaining([rep1.id, rep2.id]));
    const since = await list(alice, `since=${rep1.create_at - 1}&collapsedThreads=true`);
    rootsOnly(since);
    expect(since.order).toEqual(expect.arrayContaining([r2.id, r3.id]));
    expect(since.order).not.toContain(rep1.id);
    expect(since.order).not.toContain(rep2.id);
  });

  it("posted for a reply names the thread's followers; they get thread_updated", async () => {
    const from = aliceWs.events.length;
    const reply = await bob.client.createPost({ channel_id: chId, message: "reply three", root_id: r1.id });
    const posted = await aliceWs.next((m) => m.event === "posted" && postOf(m).id === reply.id, { from });
    expect(postOf(posted)).toMatchObject({ root_id: r1.id, channel_id: chId });
    expect(JSON.parse(String(posted.data?.followers))).toEqual([alice.id]);
    const updated = await aliceWs.next((m) => m.event === "thread_updated", { from });
    expect(JSON.parse(String(updated.data?.thread))).toMatchObject({ id: r1.id, reply_count: 3 });
    // The collapsed list now counts the third reply on its root and still holds no reply.
    const l = await list(alice, "page=0&per_page=60&collapsedThreads=true");
    expect(l.order).toEqual([r3.id, r2.id, r1.id]);
    expect(l.posts[r1.id]).toMatchObject({ reply_count: 3, last_reply_at: reply.create_at });
  });
});
