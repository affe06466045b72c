/**
 * The post write: the one statement that stores a new post, counts it into its channel, takes
 * the channel's next channel_seq (channel-seq.ts), marks the channel read for the author,
 * counts the mentions and writes the post's events to the outbox with that number. Nothing
 * else writes posts, channel counters or `posted` events. It runs in one of two plans:
 *
 *   one-statement   the common case (a root post that names nobody) in one implicit
 *                   transaction, one round trip instead of four (BEGIN, lock, insert, COMMIT):
 *                   the statement itself locks the channel row (FOR UPDATE), only if the
 *                   channel is live, the author a member, the channel facts the event was
 *                   rendered with still current and no later post already counted (create_at
 *                   stays in channel order). When that matches nothing ("fallback") the caller
 *                   takes the other plan, which gives the exact error or handles the rare cases
 *                   (clock behind the channel, stale channel facts).
 *   in-transaction  the last statement of CreatePost's transaction, which already locked and
 *                   checked the channel (lockChannelForPost) and settled replies and mentions.
 *
 * In both the post is inserted ... ON CONFLICT (user_id, pending_post_id) DO NOTHING, only if
 * the call's deadline has not passed by the time the lock is held; everything else hangs off
 * that insert: a retry of the same post, on any replica, inserts nothing, so nothing else
 * changes and no event (and no channel_seq) is written.
 */
import type { Queryable } from "@switchboard/db";
import { outboxRowsSql, pushOutboxParams, type OutboxEntry } from "@switchboard/outbox";
import { NEXT_CHANNEL_SEQ } from "../channels/channel-seq.js";
import type { ChannelRow } from "../channels/channel-store.js";
import { POST_COLUMNS, type PostRow } from "./post-store.js";

export type ChannelFacts = Pick<ChannelRow, "id" | "team_id" | "type" | "display_name" | "name">;

export type PostWritePlan = "one-statement" | "in-transaction";

export interface PostWrite {
  /** A new post (update_at = create_at, no edit, reply or reaction yet). */
  readonly row: PostRow;
  /** Members whose mention count grows (never the author). */
  readonly mentionedUserIds: readonly string[];
  /** The post's events; the statement gives each the channel's next channel_seq. */
  readonly events: readonly OutboxEntry[];
  readonly deadline: number;
  readonly now: number;
  /** one-statement: the facts the events were rendered with, checked under the lock. */
  readonly channel?: ChannelFacts;
}

export type PostWriteResult =
  | { readonly kind: "created"; readonly post: PostRow }
  /** A post with this pending_post_id exists: nothing was written. */
  | { readonly kind: "exists" }
  /** The deadline passed while the statement waited for the channel: nothing was written. */
  | { readonly kind: "late" }
  /** one-statement only: the channel could not be locked as rendered; take the transaction plan. */
  | { readonly kind: "fallback" };

/** Parameters before the events' (see params in writePost): the lock of the one-statement plan also checks the facts. */
const FIXED_PARAMS: Record<PostWritePlan, number> = { "one-statement": 18, "in-transaction": 14 };

const LOCKS: Record<PostWritePlan, string> = {
  "one-statement": `SELECT id FROM channels
    WHERE id = $1 AND delete_at = 0 AND last_post_at <= $2
      AND team_id = $15 AND type = $16 AND name = $17 AND display_name = $18
      AND EXISTS (SELECT 1 FROM channel_members WHERE channel_id = $1 AND user_id = $3)
    FOR UPDATE`,
  // Locked and checked by the transaction's first statement.
  "in-transaction": "SELECT id FROM channels WHERE id = $1",
};

function statement(plan: PostWritePlan, events: number): string {
  const root = "$13 = ''";
  return `WITH c AS (${LOCKS[plan]}
), ins AS (
  INSERT INTO posts (${POST_COLUMNS})
  SELECT $4, $2, $2, 0, 0, false, $3, c.id, $13, '', $5, $6, $7::jsonb, $8, $9::text[], $10, 0, 0, false, $11::jsonb FROM c
  WHERE clock_timestamp() <= to_timestamp($14::bigint / 1000.0)
  ON CONFLICT (user_id, pending_post_id) WHERE pending_post_id <> '' DO NOTHING
  RETURNING props, metadata
), upd AS (
  UPDATE channels SET ${NEXT_CHANNEL_SEQ}, last_post_at = GREATEST(channels.last_post_at, $2),
    total_msg_count = channels.total_msg_count + 1,
    total_msg_count_root = channels.total_msg_count_root + CASE WHEN ${root} THEN 1 ELSE 0 END,
    last_root_post_at = CASE WHEN ${root} THEN GREATEST(channels.last_root_post_at, $2) ELSE channels.last_root_post_at END
  FROM ins WHERE channels.id = $1
  RETURNING channels.seq, channels.total_msg_count, channels.total_msg_count_root
), author AS (
  UPDATE channel_members cm SET msg_count = upd.total_msg_count, msg_count_root = upd.total_msg_count_root,
    last_viewed_at = GREATEST(cm.last_viewed_at, $2), last_update_at = $2
  FROM upd WHERE cm.channel_id = $1 AND cm.user_id = $3
), mentioned AS (
  UPDATE channel_members cm SET mention_count = cm.mention_count + 1,
    mention_count_root = cm.mention_count_root + CASE WHEN ${root} THEN 1 ELSE 0 END
  FROM upd WHERE cm.channel_id = $1 AND cm.user_id = ANY($12::text[])
), event AS (
  ${outboxRowsSql(events, FIXED_PARAMS[plan] + 1, { channelSeq: "upd.seq", from: "upd" })}
)
SELECT (SELECT seq FROM upd) AS seq, (SELECT props FROM ins) AS props, (SELECT metadata FROM ins) AS metadata,
       EXISTS (SELECT 1 FROM c) AS locked, clock_timestamp() > to_timestamp($14::bigint / 1000.0) AS late`;
}

/** Statement texts by plan and number of events (a post has one event and up to three notices). */
const statements = new Map<string, string>();

function cachedStatement(plan: PostWritePlan, events: number): string {
  const key = `${plan}:${String(events)}`;
  let sql = statements.get(key);
  if (sql === undefined) statements.set(key, (sql = statement(plan, events)));
  return sql;
}

export async function writePost(q: Queryable, plan: PostWritePlan, w: PostWrite): Promise<PostWriteResult> {
  const r = w.row;
  const f = w.channel;
  if (plan === "one-statement" && !f) throw new Error("writePost: the one-statement plan needs the channel facts");
  const params: unknown[] = [
    r.channel_id,
    r.create_at,
    r.user_id,
    r.id,
    r.message,
    r.type,
    JSON.stringify(r.props),
    r.hashtags,
    r.file_ids,
    r.pending_post_id,
    JSON.stringify(r.metadata),
    w.mentionedUserIds,
    r.root_id,
    w.deadline,
  ];
  if (plan === "one-statement") params.push(f!.team_id, f!.type, f!.name, f!.display_name);
  pushOutboxParams(params, w.events, w.now);
  const { rows } = await q.query<{ seq: number | null; props: PostRow["props"]; metadata: PostRow["metadata"]; locked: boolean; late: boolean }>(
    cachedStatement(plan, w.events.length),
    params,
    { prepare: true },
  );
  const out = rows[0]!;
  if (out.seq !== null) return { kind: "created", post: { ...r, props: out.props, metadata: out.metadata } };
  if (!out.locked) return { kind: "fallback" };
  return out.late ? { kind: "late" } : { kind: "exists" };
}
