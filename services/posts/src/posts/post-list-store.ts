/** The reads behind Mattermost's channel post lists (page, since, before, after). */
import type { Queryable } from "@switchboard/db";
import { POST_COLUMNS, type PostRow } from "./post-store.js";

/** Mattermost caps "since" answers at this many posts. */
const SINCE_LIMIT = 1000;

/** Live posts, newest first. */
export async function postsPage(q: Queryable, channelId: string, offset: number, limit: number): Promise<PostRow[]> {
  return (
    await q.query<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE channel_id = $1 AND delete_at = 0 ORDER BY create_at DESC, id DESC LIMIT $2 OFFSET $3`, [
      channelId,
      limit,
      offset,
    ])
  ).rows;
}

/** Posts created, edited or deleted after `since`, newest first (deleted ones included). */
export async function postsSince(q: Queryable, channelId: string, since: number): Promise<PostRow[]> {
  return (
    await q.query<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE channel_id = $1 AND update_at > $2 ORDER BY create_at DESC, id DESC LIMIT $3`, [
      channelId,
      since,
      SINCE_LIMIT,
    ])
  ).rows;
}

/** Live posts older than `createAt`, newest first. */
export async function postsBefore(q: Queryable, channelId: string, createAt: number, offset: number, limit: number): Promise<PostRow[]> {
  return (
    await q.query<PostRow>(
      `SELECT ${POST_COLUMNS} FROM posts WHERE channel_id = $1 AND delete_at = 0 AND create_at < $2
       ORDER BY create_at DESC, id DESC LIMIT $3 OFFSET $4`,
      [channelId, createAt, limit, offset],
    )
  ).rows;
}

/** Live posts newer than `createAt`, newest first (the `limit` oldest of them). */
export async function postsAfter(q: Queryable, channelId: string, createAt: number, offset: number, limit: number): Promise<PostRow[]> {
  const { rows } = await q.query<PostRow>(
    `SELECT ${POST_COLUMNS} FROM posts WHERE channel_id = $1 AND delete_at = 0 AND create_at > $2
     ORDER BY create_at ASC, id ASC LIMIT $3 OFFSET $4`,
    [channelId, createAt, limit, offset],
  );
  return rows.reverse();
}

/** The id of the newest live post older than `createAt` ("" if none). */
export async function postIdBefore(q: Queryable, channelId: string, createAt: number): Promise<string> {
  const { rows } = await q.query<{ id: string }>(
    "SELECT id FROM posts WHERE channel_id = $1 AND delete_at = 0 AND create_at < $2 ORDER BY create_at DESC, id DESC LIMIT 1",
    [channelId, createAt],
  );
  return rows[0]?.id ?? "";
}

/** The id of the oldest live post newer than `createAt` ("" if none). */
export async function postIdAfter(q: Queryable, channelId: string, createAt: number): Promise<string> {
  const { rows } = await q.query<{ id: string }>(
    "SELECT id FROM posts WHERE channel_id = $1 AND delete_at = 0 AND create_at > $2 ORDER BY create_at ASC, id ASC LIMIT 1",
    [channelId, createAt],
  );
  return rows[0]?.id ?? "";
}

/** Posts by id (for the thread roots of replies in a page). */
export async function postsByIds(q: Queryable, ids: readonly string[]): Promise<PostRow[]> {
  if (ids.length === 0) return [];
  return (await q.query<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE id = ANY($1::text[])`, [ids])).rows;
}

/** A channel's live pinned posts, newest first. */
export async function pinnedPosts(q: Queryable, channelId: string): Promise<PostRow[]> {
  return (
    await q.query<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE channel_id = $1 AND is_pinned AND delete_at = 0 ORDER BY create_at DESC, id DESC`, [
      channelId,
    ])
  ).rows;
}
