/**
 * Threads and thread memberships as Mattermost stores them (store/sqlstore/thread_store.go):
 * a `threads` row per root post from its first reply (reply_count, last_reply_at, participants
 * in the order they first replied, the channel's team), a `thread_memberships` row per user
 * who replied, was mentioned or followed (following, last_viewed, unread_mentions). Unread
 * replies are counted, not stored: the thread's live replies after last_viewed. A user's
 * threads are those of channels they are still a member of (Mattermost drops the memberships
 * when a user leaves a channel).
 */
import type { Queryable } from "@switchboard/db";

export interface UserThreadRow {
  post_id: string;
  channel_id: string;
  reply_count: number;
  last_reply_at: number;
  participants: string[];
  thread_delete_at: number;
  thread_team_id: string;
  following: boolean;
  last_viewed: number;
  last_updated: number;
  unread_mentions: number;
  unread_replies: number;
}

export interface MembershipRow {
  following: boolean;
  last_viewed: number;
  unread_mentions: number;
}

const UNREAD_REPLIES = "(SELECT count(*) FROM posts p WHERE p.root_id = t.post_id AND p.delete_at = 0 AND p.create_at > tm.last_viewed)";

const USER_THREAD_COLUMNS = `t.post_id, t.channel_id, t.reply_count, t.last_reply_at, t.participants, t.thread_delete_at, t.thread_team_id,
  tm.following, tm.last_viewed, tm.last_updated, tm.unread_mentions, ${UNREAD_REPLIES} AS unread_replies`;

/** Joins a user's memberships with their threads, in channels the user still belongs to. */
const USER_THREADS_FROM = `thread_memberships tm
  JOIN threads t ON t.post_id = tm.post_id
  JOIN channel_members cm ON cm.channel_id = t.channel_id AND cm.user_id = tm.user_id`;

function toRow(r: UserThreadRow): UserThreadRow {
  return {
    ...r,
    reply_count: Number(r.reply_count),
    last_reply_at: Number(r.last_reply_at),
    thread_delete_at: Number(r.thread_delete_at),
    last_viewed: Number(r.last_viewed),
    last_updated: Number(r.last_updated),
    unread_mentions: Number(r.unread_mentions),
    unread_replies: Number(r.unread_replies),
  };
}

/** Counts one more reply to the thread of `rootId` (creating the thread) and adds the replier to its participants. */
export async function recordReply(
  q: Queryable,
  r: { rootId: string; channelId: string; teamId: string; userId: string; createAt: number },
): Promise<{ reply_count: number; last_reply_at: number; participants: string[] }> {
  const { rows } = await q.query<{ reply_count: number; last_reply_at: number; participants: string[] }>(
    `INSERT INTO threads (post_id, channel_id, reply_count, last_reply_at, participants, thread_team_id)
     VALUES ($1, $2, 1, $3, jsonb_build_array($4::text), $5)
     ON CONFLICT (post_id) DO UPDATE SET reply_count = threads.reply_count + 1,
       last_reply_at = GREATEST(threads.last_reply_at, EXCLUDED.last_reply_at),
       participants = CASE WHEN threads.participants @> EXCLUDED.participants THEN threads.participants
                           ELSE threads.participants || EXCLUDED.participants END
     RETURNING reply_count, last_reply_at, participants`,
    [r.rootId, r.channelId, r.createAt, r.userId, r.teamId],
    { prepare: true },
  );
  const t = rows[0]!;
  return { reply_count: Number(t.reply_count), last_reply_at: Number(t.last_reply_at), participants: t.participants };
}

/** The thread's participants (empty when it has no reply yet). */
export async function threadParticipants(q: Queryable, rootId: string): Promise<string[]> {
  const { rows } = await q.query<{ participants: string[] }>("SELECT participants FROM threads WHERE post_id = $1", [rootId], { prepare: true });
  return rows[0]?.participants ?? [];
}

/** The memberships of `userIds` in the thread, locked. */
export async function lockMemberships(q: Queryable, rootId: string, userIds: readonly string[]): Promise<Map<string, MembershipRow>> {
  const { rows } = await q.query<MembershipRow & { user_id: string }>(
    "SELECT user_id, following, last_viewed, unread_mentions FROM thread_memberships WHERE post_id = $1 AND user_id = ANY($2::text[]) FOR UPDATE",
    [rootId, userIds],
  );
  return new Map(rows.map((m) => [m.user_id, { following: m.following, last_viewed: Number(m.last_viewed), unread_mentions: Number(m.unread_mentions) }]));
}

/**
 * Mattermost's MaintainMembership for a reply, for many users at once: each gets a following
 * membership (created if missing); `mentioned` ones one more unread mention; users who
 * unfollowed the thread and are not mentioned are left alone.
 */
export async function followOnReply(q: Queryable, rootId: string, users: readonly { id: string; mentioned: boolean }[], now: number): Promise<void> {
  if (users.length === 0) return;
  await q.query(
    `INSERT INTO thread_memberships AS tm (post_id, user_id, following, last_viewed, last_updated, unread_mentions)
     SELECT $1, u.id, true, 0, $2, CASE WHEN u.mentioned THEN 1 ELSE 0 END FROM unnest($3::text[], $4::boolean[]) AS u(id, mentioned)
     WHERE u.mentioned OR NOT EXISTS (SELECT 1 FROM thread_memberships x WHERE x.post_id = $1 AND x.user_id = u.id AND NOT x.following)
     ON CONFLICT (post_id, user_id) DO UPDATE SET following = true, unread_mentions = tm.unread_mentions + EXCLUDED.unread_mentions, last_updated = EXCLUDED.last_updated
     WHERE EXCLUDED.unread_mentions > 0 OR NOT tm.following`,
    [rootId, now, users.map((u) => u.id), users.map((u) => u.mentioned)],
  );
}

/** The replier has read the thread up to now (MaintainMembership with UpdateViewedTimestamp). */
export async function markViewedByReplier(q: Queryable, rootId: string, userId: string, at: number): Promise<void> {
  await q.query(
    "UPDATE thread_memberships SET last_viewed = GREATEST(last_viewed, $3), unread_mentions = 0, last_updated = $3 WHERE post_id = $1 AND user_id = $2",
    [rootId, userId, at],
  );
}

/** Every follower of the thread who is still a member of its channel, with their unread counts. */
export async function followersOf(q: Queryable, rootId: string): Promise<(UserThreadRow & { user_id: string })[]> {
  const { rows } = await q.query<UserThreadRow & { user_id: string }>(
    `SELECT tm.user_id, ${USER_THREAD_COLUMNS} FROM ${USER_THREADS_FROM} WHERE tm.post_id = $1 AND tm.following ORDER BY tm.user_id`,
    [rootId],
  );
  return rows.map((r) => ({ ...toRow(r), user_id: r.user_id }));
}

/** One user's thread (undefined: no membership, no thread, or no longer in its channel). */
export async function userThread(q: Queryable, userId: string, rootId: string): Promise<UserThreadRow | undefined> {
  const { rows } = await q.query<UserThreadRow>(`SELECT ${USER_THREAD_COLUMNS} FROM ${USER_THREADS_FROM} WHERE tm.user_id = $1 AND tm.post_id = $2`, [
    userId,
    rootId,
  ]);
  return rows[0] && toRow(rows[0]);
}

export interface UserThreadsQuery {
  readonly userId: string;
  readonly teamId: string;
  /** Memberships updated since (Unix ms); 0: only followed threads. */
  readonly since: number;
  readonly before: { lastReplyAt: number; postId: string } | undefined;
  readonly after: { lastReplyAt: number; postId: string } | undefined;
  readonly pageSize: number;
  readonly unread: boolean;
  readonly deleted: boolean;
}

/** The filters of Mattermost's GetThreadsForUser: the team's threads and those of direct and group channels. */
function filters(o: UserThreadsQuery, params: unknown[]): string {
  params.push(o.userId, o.teamId);
  const where = ["tm.user_id = $1", "t.thread_team_id IN ($2, '')"];
  if (o.since > 0) {
    params.push(o.since);
    where.push(`tm.last_updated >= $${String(params.length)}`);
  } else where.push("tm.following");
  if (!o.deleted) where.push("t.thread_delete_at = 0");
  if (o.unread) where.push("t.last_reply_at > tm.last_viewed");
  return where.join(" AND ");
}

/** A page of the user's threads, newest reply first; `before`/`after` a cursor thread. */
export async function userThreads(q: Queryable, o: UserThreadsQuery): Promise<UserThreadRow[]> {
  const params: unknown[] = [];
  let where = filters(o, params);
  let order = "t.last_reply_at DESC, t.post_id DESC";
  if (o.before) {
    params.push(o.before.lastReplyAt, o.before.postId);
    where += ` AND (t.last_reply_at, t.post_id) < ($${String(params.length - 1)}, $${String(params.length)})`;
  } else if (o.after) {
    params.push(o.after.lastReplyAt, o.after.postId);
    where += ` AND (t.last_reply_at, t.post_id) > ($${String(params.length - 1)}, $${String(params.length)})`;
    order = "t.last_reply_at ASC, t.post_id ASC";
  }
  params.push(o.pageSize);
  const { rows } = await q.query<UserThreadRow>(
    `SELECT ${USER_THREAD_COLUMNS} FROM ${USER_THREADS_FROM} WHERE ${where} ORDER BY ${order} LIMIT $${String(params.length)}`,
    params,
  );
  const out = rows.map(toRow);
  return o.after ? out.reverse() : out;
}

/** Mattermost's GetTotalThreads, GetTotalUnreadThreads and GetTotalUnreadMentions. */
export async function userThreadTotals(q: Queryable, o: UserThreadsQuery): Promise<{ total: number; unreadThreads: number; unreadMentions: number }> {
  const params: unknown[] = [];
  const where = filters({ ...o, unread: false }, params);
  const { rows } = await q.query<{ total: number; unread_threads: number; unread_mentions: number }>(
    `SELECT count(*) AS total, count(*) FILTER (WHERE t.last_reply_at > tm.last_viewed) AS unread_threads, coalesce(sum(tm.unread_mentions), 0) AS unread_mentions
     FROM ${USER_THREADS_FROM} WHERE ${where}`,
    params,
  );
  const r = rows[0]!;
  return { total: Number(r.total), unreadThreads: Number(r.unread_threads), unreadMentions: Number(r.unread_mentions) };
}

/** Creates or updates the user's membership (Mattermost's MaintainMembership with UpdateFollowing). */
export async function setFollowing(q: Queryable, rootId: string, userId: string, following: boolean, now: number): Promise<void> {
  await q.query(
    `INSERT INTO thread_memberships AS tm (post_id, user_id, following, last_viewed, last_updated, unread_mentions)
     VALUES ($1, $2, $3, CASE WHEN $3 THEN $4::bigint ELSE 0 END, $4, 0)
     ON CONFLICT (post_id, user_id) DO UPDATE SET following = EXCLUDED.following, last_updated = EXCLUDED.last_updated,
       last_viewed = CASE WHEN EXCLUDED.following THEN EXCLUDED.last_viewed ELSE tm.last_viewed END,
       unread_mentions = CASE WHEN EXCLUDED.following THEN 0 ELSE tm.unread_mentions END`,
    [rootId, userId, following, now],
  );
}

/** The thread's counters (undefined: the root has no reply yet). */
export async function threadById(q: Queryable, rootId: string): Promise<{ channel_id: string; reply_count: number; thread_team_id: string } | undefined> {
  const { rows } = await q.query<{ channel_id: string; reply_count: number; thread_team_id: string }>(
    "SELECT channel_id, reply_count, thread_team_id FROM threads WHERE post_id = $1",
    [rootId],
  );
  return rows[0] && { ...rows[0], reply_count: Number(rows[0].reply_count) };
}

/** Marks the thread read at `timestamp` for the user (creating a following membership, as Mattermost does). */
export async function markRead(q: Queryable, rootId: string, userId: string, timestamp: number, unreadMentions: number, now: number): Promise<void> {
  await q.query(
    `INSERT INTO thread_memberships AS tm (post_id, user_id, following, last_viewed, last_updated, unread_mentions)
     VALUES ($1, $2, true, $3, $4, $5)
     ON CONFLICT (post_id, user_id) DO UPDATE SET following = true, last_viewed = EXCLUDED.last_viewed, last_updated = EXCLUDED.last_updated,
       unread_mentions = EXCLUDED.unread_mentions`,
    [rootId, userId, timestamp, now, unreadMentions],
  );
}

/** Mattermost's MarkAllAsReadByTeam: every unread thread of the team (and of direct and group channels) read now. */
export async function markAllRead(q: Queryable, userId: string, teamId: string, now: number): Promise<number> {
  const r = await q.query(
    `UPDATE thread_memberships tm SET last_viewed = $3, unread_mentions = 0, last_updated = $3
     FROM threads t WHERE t.post_id = tm.post_id AND tm.user_id = $1 AND t.thread_team_id IN ($2, '')
       AND (t.last_reply_at > tm.last_viewed OR tm.unread_mentions > 0)`,
    [userId, teamId, now],
  );
  return r.rowCount ?? 0;
}

/** The live replies from `since` on (Thread().GetPosts), for counting mentions. */
export async function repliesAfter(q: Queryable, rootId: string, since: number): Promise<{ user_id: string; message: string }[]> {
  return (
    await q.query<{ user_id: string; message: string }>("SELECT user_id, message FROM posts WHERE root_id = $1 AND delete_at = 0 AND create_at >= $2", [
      rootId,
      since,
    ])
  ).rows;
}

/**
 * Per team, the user's followed threads with unread replies and their unread mentions
 * (Mattermost's Thread().GetTeamsUnreadForUser: the team unreads of collapsed threads).
 */
export async function teamThreadUnreads(q: Queryable, userId: string): Promise<Map<string, { threads: number; mentions: number }>> {
  const { rows } = await q.query<{ team_id: string; thread_count: string; thread_mention_count: string }>(
    `SELECT t.thread_team_id AS team_id, count(*) FILTER (WHERE t.last_reply_at > tm.last_viewed) AS thread_count,
       coalesce(sum(tm.unread_mentions), 0) AS thread_mention_count
     FROM ${USER_THREADS_FROM} WHERE tm.user_id = $1 AND tm.following AND t.thread_delete_at = 0 AND t.thread_team_id <> ''
     GROUP BY t.thread_team_id`,
    [userId],
  );
  return new Map(rows.map((r) => [r.team_id, { threads: Number(r.thread_count), mentions: Number(r.thread_mention_count) }]));
}
