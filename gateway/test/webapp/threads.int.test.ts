/**
 * Collapsed reply threads through the webapp's data layer (mattermost-redux actions/threads,
 * unmodified): getThreadCounts, fetchThreads, getThread, updateThreadRead, setThreadFollow and
 * markAllThreadsInTeamRead against a running stack, the store checked after each, every
 * request answered 2xx.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as ThreadsActions from "mattermost-redux/actions/threads";
import type * as UsersActions from "mattermost-redux/actions/users";
import { startStack, type Stack } from "@switchboard/testkit";
import { teamWithChannel, type TestUser } from "../support.js";
import { redux, webappSession, type WebappSession } from "./webapp-store.js";

const threads = redux<typeof ThreadsActions>("mattermost-redux/actions/threads");
const usersActions = redux<typeof UsersActions>("mattermost-redux/actions/users");

let stack: Stack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let teamId: string;
let chId: string;
let web: WebappSession;

interface StoreThread {
  id: string;
  reply_count: number;
  unread_replies: number;
  unread_mentions: number;
  last_viewed_at: number;
  is_following?: boolean;
  participants: { id: string }[];
}

const threadInStore = (id: string): StoreThread | undefined =>
  (web.store.getState().entities.threads.threads as unknown as Record<string, StoreThread | undefined>)[id];

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
  const cast = await teamWithChannel(url, ["alice", "bob"], "thr", "Threads");
  [alice, bob] = cast.users as [TestUser, TestUser];
  teamId = cast.teamId;
  chId = cast.channelId;
  web = await webappSession(url, alice.username, "password-1");
  await web.dispatch(usersActions.getMe());
});

afterAll(async () => {
  await stack?.stop();
});

describe("threads in the webapp's store", () => {
  it("counts, lists, reads, unfollows and marks all read", async () => {
    const from = web.calls.length;
    const root = await alice.client.createPost({ channel_id: chId, message: "root" });
    await bob.client.createPost({ channel_id: chId, message: `hey @${alice.username}`, root_id: root.id });

    const counts = await web.dispatch<{ data?: Record<string, number>; error?: unknown }>(threads.getThreadCounts(alice.id, teamId));
    expect(counts.error).toBeUndefined();
    expect(counts.data).toEqual({ total: 1, total_unread_threads: 1, total_unread_mentions: 1, total_unread_urgent_mentions: 0 });
    expect(web.store.getState().entities.threads.countsIncludingDirect[teamId]).toMatchObject({ total: 1, total_unread_threads: 1, total_unread_mentions: 1 });

    const list = await web.dispatch<{ data?: { threads: StoreThread[] } }>(threads.fetchThreads(alice.id, teamId, { extended: true }));
    expect(list.data?.threads.map((t) => [t.id, t.reply_count, t.unread_replies])).toEqual([[root.id, 1, 1]]);

    const one = await web.dispatch<{ data?: StoreThread; error?: unknown }>(threads.getThread(alice.id, teamId, root.id, true));
    expect(one.error).toBeUndefined();
    expect(threadInStore(root.id)).toMatchObject({ id: root.id, reply_count: 1, unread_replies: 1, unread_mentions: 1 });
    expect(threadInStore(root.id)!.participants.map((p) => p.id)).toEqual([bob.id]);
    expect(web.store.getState().entities.posts.posts[root.id]?.id).toBe(root.id);

    const ts = Date.now();
    expect(await web.dispatch<{ error?: unknown }>(threads.updateThreadRead(alice.id, teamId, root.id, ts))).toEqual({});
    await web.dispatch(threads.getThread(alice.id, teamId, root.id, true));
    expect(threadInStore(root.id)).toMatchObject({ unread_replies: 0, unread_mentions: 0, last_viewed_at: ts });

    expect(await web.dispatch<{ error?: unknown }>(threads.setThreadFollow(alice.id, teamId, root.id, false))).toEqual({});
    expect(threadInStore(root.id)?.is_following).toBe(false);
    const after = await web.dispatch<{ data?: Record<string, number> }>(threads.getThreadCounts(alice.id, teamId));
    expect(after.data).toMatchObject({ total: 0 });

    expect(await web.dispatch<{ error?: unknown }>(threads.setThreadFollow(alice.id, teamId, root.id, true))).toEqual({});
    await bob.client.createPost({ channel_id: chId, message: "more", root_id: root.id });
    expect((await web.dispatch<{ data?: Record<string, number> }>(threads.getThreadCounts(alice.id, teamId))).data).toMatchObject({
      total: 1,
      total_unread_threads: 1,
    });
    expect(await web.dispatch<{ error?: unknown }>(threads.markAllThreadsInTeamRead(alice.id, teamId))).toEqual({});
    expect((await web.dispatch<{ data?: Record<string, number> }>(threads.getThreadCounts(alice.id, teamId))).data).toMatchObject({
      total: 1,
      total_unread_threads: 0,
      total_unread_mentions: 0,
    });

    const threadCalls = web.since(from).filter((c) => c.path.includes("/threads"));
    expect(threadCalls.length).toBeGreaterThanOrEqual(9);
    expect(threadCalls.filter((c) => c.status >= 300)).toEqual([]);
  });
});
