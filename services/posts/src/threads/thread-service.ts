/**
 * A user's collapsed reply threads (app/thread.go, api4/user.go thread handlers): the list of
 * followed threads of a team (and of direct and group channels) with Mattermost's totals, one
 * thread, follow/unfollow, marking one thread read at a time and marking them all read. Only
 * the user (or a system admin) acts on their threads, within a team they can view, on threads
 * of channels the caller can read; each change tells the user's sessions.
 */
import { AppError } from "@switchboard/model";
import type { UserThread } from "@switchboard/proto/posts";
import type { Queryable } from "@switchboard/db";
import { loadChannelAccess, requireReaderOrDenied } from "../channels/channel-access.js";
import { requireOwnTeamState } from "../channels/read-state.js";
import type { Call, Deps } from "../deps.js";
import { emit } from "../events/emit.js";
import { allThreadsReadEvent, threadFollowChangedEvent, threadReadChangedEvent } from "../events/thread-events.js";
import { postById, type PostRow } from "../posts/post-store.js";
import { POST_COLUMNS } from "../posts/post-store.js";
import { callTx } from "../tx.js";
import { postNotFound } from "../errors.js";
import { requireId } from "../validation.js";
import { countThreadMentions } from "./thread-mentions.js";
import { userThreadToProto } from "./thread-rows.js";
import {
  markAllRead,
  markRead,
  repliesAfter,
  setFollowing,
  threadById,
  userThread,
  userThreads,
  userThreadTotals,
  type UserThreadRow,
  type UserThreadsQuery,
} from "./thread-store.js";

/** Mattermost's default page of threads. */
const DEFAULT_PAGE_SIZE = 30;
const MAX_PAGE_SIZE = 200;

export interface ThreadListOptions {
  readonly since: number;
  readonly before: string;
  readonly after: string;
  readonly pageSize: number;
  readonly unread: boolean;
  readonly deleted: boolean;
  readonly totalsOnly: boolean;
  readonly threadsOnly: boolean;
}

export interface ThreadList {
  readonly total: number;
  readonly totalUnreadThreads: number;
  readonly totalUnreadMentions: number;
  readonly threads: UserThread[];
}

const threadNotFound = (): AppError => new AppError("not_found", "thread not found/followed", "app.user.get_threads_for_user.not_found");

export function createThreadService(d: Deps) {
  const { db } = d;

  const authorize = (call: Call, userId: string, teamId: string): Promise<string> => requireOwnTeamState(db, call, userId, teamId);

  /** The thread's root post, readable by the caller (Mattermost's SessionHasPermissionToChannelByPost: 403 otherwise). */
  async function readableRoot(call: Call, threadId: string): Promise<PostRow> {
    requireId(threadId, "thread_id");
    const post = await postById(db, threadId);
    if (!post) throw new AppError("permission_denied", "You do not have the appropriate permissions.", "api.context.permissions.app_error");
    requireReaderOrDenied(await loadChannelAccess(db, post.channel_id, call.actor.userId), call.actor);
    return post;
  }

  async function roots(q: Queryable, ids: readonly string[]): Promise<Map<string, PostRow>> {
    if (ids.length === 0) return new Map();
    const { rows } = await q.query<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE id = ANY($1::text[])`, [ids]);
    return new Map(rows.map((p) => [p.id, p]));
  }

  async function toProtos(q: Queryable, rows: readonly UserThreadRow[]): Promise<UserThread[]> {
    const byId = await roots(
      q,
      rows.map((r) => r.post_id),
    );
    return rows.map((r) => userThreadToProto(r, byId.get(r.post_id)));
  }

  async function cursor(q: Queryable, id: string, name: string): Promise<{ lastReplyAt: number; postId: string } | undefined> {
    if (id === "") return undefined;
    requireId(id, name);
    const { rows } = await q.query<{ last_reply_at: number }>("SELECT last_reply_at FROM threads WHERE post_id = $1", [id]);
    // An unknown cursor pages from the start, as Mattermost's subquery then matches nothing.
    return rows[0] ? { lastReplyAt: Number(rows[0].last_reply_at), postId: id } : { lastReplyAt: Number.MAX_SAFE_INTEGER, postId: id };
  }

  async function getThreads(call: Call, userId: string, teamId: string, o: ThreadListOptions): Promise<ThreadList> {
    const uid = await authorize(call, userId, teamId);
    if (o.before !== "" && o.after !== "") {
      throw new AppError("invalid_argument", "Before and after parameters to getThreadsForUser are mutually exclusive", "api.getThreadsForUser.bad_params");
    }
    if (o.totalsOnly && o.threadsOnly) {
      throw new AppError(
        "invalid_argument",
        "ThreadsOnly and TotalsOnly parameters to getThreadsForUser are mutually exclusive",
        "api.getThreadsForUser.bad_only_params",
      );
    }
    const pageSize = o.pageSize <= 0 ? DEFAULT_PAGE_SIZE : Math.min(o.pageSize, MAX_PAGE_SIZE);
    const query: UserThreadsQuery = {
      userId: uid,
      teamId,
      since: o.since,
      before: await cursor(db, o.before, "before"),
      after: await cursor(db, o.after, "after"),
      pageSize,
      unread: o.unread,
      deleted: o.deleted,
    };
    const [totals, rows] = await Promise.all([o.threadsOnly ? undefined : userThreadTotals(db, query), o.totalsOnly ? [] : userThreads(db, query)]);
    const out = {
      total: totals?.total ?? 0,
      totalUnreadThreads: totals?.unreadThreads ?? 0,
      totalUnreadMentions: totals?.unreadMentions ?? 0,
      threads: await toProtos(db, rows),
    };
    // Mattermost's legacy `unread`: the total is the unread total.
    return o.unread ? { ...out, total: out.totalUnreadThreads } : out;
  }

  async function getThread(call: Call, userId: string, teamId: string, threadId: string): Promise<UserThread> {
    const uid = await authorize(call, userId, teamId);
    await readableRoot(call, threadId);
    const row = await userThread(db, uid, threadId);
    if (!row) throw threadNotFound();
    return (await toProtos(db, [row]))[0]!;
  }

  async function setFollow(call: Call, userId: string, teamId: string, threadId: string, following: boolean): Promise<void> {
    const uid = await authorize(call, userId, teamId);
    await readableRoot(call, threadId);
    const now = Date.now();
    await callTx(db, call.signal, async (q) => {
      await setFollowing(q, threadId, uid, following, now);
      const t = await threadById(q, threadId);
      await emit(q, [threadFollowChangedEvent(uid, teamId, threadId, following, t?.reply_count ?? 0, now)]);
    });
    d.onCommit();
  }

  /**
   * Reads the thread up to `timestamp`, or, given `postId` (app/user.go
   * UpdateThreadReadForUserByPost), up to just before that post, which must be the root or one
   * of its replies.
   */
  async function updateRead(call: Call, userId: string, teamId: string, threadId: string, timestamp: number, postId = ""): Promise<UserThread> {
    const uid = await authorize(call, userId, teamId);
    const root = await readableRoot(call, threadId);
    if (postId !== "") timestamp = await unreadFrom(threadId, postId);
    if (!(await threadById(db, threadId))) throw threadNotFound();
    const [user] = [...(await d.users.byIds([uid], call.token)).values()];
    const channel = (await loadChannelAccess(db, root.channel_id, uid))?.channel;
    const now = Date.now();
    const out = await callTx(db, call.signal, async (q) => {
      const before = await userThread(q, uid, threadId);
      const unreadMentions = countThreadMentions(await repliesAfter(q, threadId, timestamp), {
        userId: uid,
        username: user?.username ?? "",
        channelType: channel?.type ?? "O",
      });
      await markRead(q, threadId, uid, timestamp, unreadMentions, now);
      const after = await userThread(q, uid, threadId);
      if (!after) throw threadNotFound();
      await emit(q, [
        threadReadChangedEvent(
          uid,
          teamId,
          {
            threadId,
            channelId: root.channel_id,
            timestamp,
            unreadMentions: after.unread_mentions,
            unreadReplies: after.unread_replies,
            previousUnreadMentions: before?.unread_mentions ?? 0,
            previousUnreadReplies: before?.unread_replies ?? 0,
          },
          now,
        ),
      ]);
      return (await toProtos(q, [after]))[0]!;
    });
    d.onCommit();
    return out;
  }

  async function unreadFrom(threadId: string, postId: string): Promise<number> {
    requireId(postId, "post_id");
    const post = await postById(db, postId);
    if (!post || Number(post.delete_at) !== 0) throw postNotFound();
    if (post.id !== threadId && post.root_id !== threadId) {
      throw new AppError(
        "invalid_argument",
        "Unable to update the thread's read state from that post.",
        "app.user.update_thread_read_for_user_by_post.app_error",
      );
    }
    return Number(post.create_at) - 1;
  }

  async function markAllReadForTeam(call: Call, userId: string, teamId: string): Promise<void> {
    const uid = await authorize(call, userId, teamId);
    const now = Date.now();
    await callTx(db, call.signal, async (q) => {
      await markAllRead(q, uid, teamId, now);
      await emit(q, [allThreadsReadEvent(uid, teamId, now)]);
    });
    d.onCommit();
  }

  return { getThreads, getThread, setFollow, updateRead, markAllRead: markAllReadForTeam };
}

export type ThreadService = ReturnType<typeof createThreadService>;
