/**
 * The reads behind Mattermost's channel post lists (page, since, before, after). With
 * `roots` (collapsed reply threads) they read root posts only, as store/sqlstore/post_store.go
 * getPostsCollapsedThreads, getPostsSinceCollapsedThreads and getPostsAround do; the cursors
 * then skip replies too (getPostIdAroundTime with collapsedThreads).
 */
import type { Queryable } from "@switchboard/db";
import { POST_COLUMNS, type PostRow } from "./post-store.js";

/** The extra condition of a collapsed-threads read. */
const rootsOnly = (roots: boolean): string => (roots ? " AND root_id = ''" : "");

/** Mattermost caps "since" answers at this many posts. */
const SINCE_LIMIT = 1000;

/** Live posts, newest first. */
export async function postsPage(q: Queryable, channelId: string, offset: number, limit: number, roots: boolean): Promise<PostRow[]> {
  return (
    await q.query<PostRow>(
      `SELECT ${POST_COLUMNS} FROM posts WHERE channel_id = $1 AND delete_at = 0${rootsOnly(roots)} ORDER BY create_at DESC, id DESC LIMIT $2 OFFSET $3`,
      [channelId, limit, offset],
    )
  ).rows;
}

/**
 * Posts created, edited or deleted after `since`, newest first (deleted ones included; with
 * `roots`, live root posts only, as getPostsSinceCollapsedThreads reads them).
 */
export async function postsSince(q: Queryable, channelId: string, since: number, roots: boolean): Promise<PostRow[]> {
  const live = roots ? " AND delete_at = 0 AND root_id = ''" : "";
  return (
    await q.query<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE channel_id = $1 AND update_at > $2${live} ORDER BY create_at DESC, id DESC LIMIT $3`, [
      channelId,
      since,
      SINCE_LIMIT,
    ])
  ).rows;
}

/** Live posts older than `createAt`, newest first. */
export async function postsBefore(q: Queryable, channelId: string, createAt: number, offset: number, limit: number, roots: boolean): Promise<PostRow[]> {
  return (
    await q.query<PostRow>(
      `SELECT ${POST_COLUMNS} FROM posts WHERE channel_id = $1 AND delete_at = 0 AND create_at < $2${rootsOnly(roots)}
       ORDER BY create_at DESC, id DESC LIMIT $3 OFFSET $4`,
      [channelId, createAt, limit, offset],
    )
  ).rows;
}

/** Live posts newer than `createAt`, newest first (the `limit` oldest of them). */
export async function postsAfter(q: Queryable, channelId: string, createAt: number, offset: number, limit: number, roots: boolean): Promise<PostRow[]> {
  const { rows } = await q.query<PostRow>(
    `SELECT ${POST_COLUMNS} FROM posts WHERE channel_id = $1 AND delete_at = 0 AND create_at > $2${rootsOnly(roots)}
     ORDER BY create_at ASC, id ASC LIMIT $3 OFFSET $4`,
    [channelId, createAt, limit, offset],
  );
  return rows.reverse();
}

/** The id of the newest live post older than `createAt` ("" if none). */
export async function postIdBefore(q: Queryable, channelId: string, createAt: number, roots: boolean): Promise<string> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM posts WHERE channel_id = $1 AND delete_at = 0 AND create_at < $2${rootsOnly(roots)} ORDER BY create_at DESC, id DESC LIMIT 1`,
    [channelId, createAt],
  );
  return rows[0]?.id ?? "";
}

/** The id of the oldest live post newer than `createAt` ("" if none). */
export async function postIdAfter(q: Queryable, channelId: string, createAt: number, roots: boolean): Promise<string> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM posts WHERE channel_id = $1 AND delete_at = 0 AND create_at > $2${rootsOnly(roots)} ORDER BY create_at ASC, id ASC LIMIT 1`,
    [channelId, createAt],
  );
  return rows[0]?.id ?? "";
}

/** Posts by id (for the thread roots of replies in a page). */
export async function postsByIds(q: Queryable, ids: readonly string[]): Promise<PostRow[]> {
  if (ids.length === 0) return [];
  return (await q.query<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE id = ANY($1::text[])`, [ids])).rows;
}

export interface ThreadFacts {
  post_id: string;
  reply_count: number;
  last_reply_at: number;
  participants: string[];
  /** null: the user has no membership of the thread. */
  following: boolean | null;
}

/**
 * The thread facts of root posts for one user, as prepareThreadedResponse fills them: the
 * thread's reply count, last reply and participants (0, 0, none without a thread row) and the
 * user's following (null without a membership).
 */
export async function threadFacts(q: Queryable, rootIds: readonly string[], userId: string): Promise<Map<string, ThreadFacts>> {
  if (rootIds.length === 0) return new Map();
  const { rows } = await q.query<ThreadFacts>(
    `SELECT r.id AS post_id, COALESCE(t.reply_count, 0) AS reply_count, COALESCE(t.last_reply_at, 0) AS last_reply_at,
       COALESCE(t.participants, '[]'::jsonb) AS participants, tm.following
     FROM unnest($1::text[]) AS r(id)
     LEFT JOIN threads t ON t.post_id = r.id
     LEFT JOIN thread_memberships tm ON tm.post_id = r.id AND tm.user_id = $2`,
    [rootIds, userId],
  );
  return new Map(rows.map((r) => [r.post_id, { ...r, reply_count: Number(r.reply_count), last_reply_at: Number(r.last_reply_at) }]));
}

/** A channel's live pinned posts, newest first. */
export async function pinnedPosts(q: Queryable, channelId: string): Promise<PostRow[]> {
  return (
    await q.query<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE channel_id = $1 AND is_pinned AND delete_at = 0 ORDER BY create_at DESC, id DESC`, [
      channelId,
    ])
  ).rows;
}
