/**
 * CreatePost in one statement, for the common case: a root post whose message names nobody.
 * One round trip instead of four (BEGIN, lock, insert, COMMIT) halves the database's and this
 * process's work per post. The statement, in one implicit transaction:
 *   c    locks the channel row (FOR UPDATE), only if the channel is live, the author a member,
 *        the channel facts the event was rendered with still current and no later post
 *        already counted (create_at stays in channel order);
 *   ins  inserts the post ... ON CONFLICT (user_id, pending_post_id) DO NOTHING, only if the
 *        call's deadline has not passed by the time the lock is held;
 *   upd  counts it into the channel and takes the channel's next seq, only if it was inserted;
 *   then marks the channel read for the author, counts the DM partner's mention, and writes
 *        the `posted` event to the outbox with that seq (appended to the envelope by the relay).
 * A retry of the same post inserts nothing, so nothing else changes and no event is written.
 * When c matches nothing the caller falls back to the transaction path, which gives the exact
 * error or handles the rare cases (clock behind the channel, stale channel facts).
 */
import type { Queryable } from "@switchboard/db";
import { encodeEvent, subjects } from "@switchboard/bus";
import { OUTBOX_INSERT_COLUMNS } from "@switchboard/outbox";
import type { ChannelRow } from "../channels/channel-store.js";
import { channelChange, postedEvents } from "../events/event-builders.js";
import { POST_COLUMNS, type PostRow } from "./post-store.js";

export type ChannelFacts = Pick<ChannelRow, "id" | "team_id" | "type" | "display_name" | "name">;

const SQL = `WITH c AS (
  SELECT id FROM channels
  WHERE id = $1 AND delete_at = 0 AND last_post_at <= $2
    AND team_id = $17 AND type = $18 AND name = $19 AND display_name = $20
    AND EXISTS (SELECT 1 FROM channel_members WHERE channel_id = $1 AND user_id = $3)
  FOR UPDATE
), ins AS (
  INSERT INTO posts (${POST_COLUMNS})
  SELECT $4, $2, $2, 0, 0, false, $3, c.id, '', '', $5, $6, $7::jsonb, $8, $9::text[], $10, 0, 0, false, $11::jsonb FROM c
  WHERE clock_timestamp() <= to_timestamp($21::bigint / 1000.0)
  ON CONFLICT (user_id, pending_post_id) WHERE pending_post_id <> '' DO NOTHING
  RETURNING props, metadata
), upd AS (
  UPDATE channels SET seq = channels.seq + 1, last_post_at = GREATEST(channels.last_post_at, $2),
    total_msg_count = channels.total_msg_count + 1, total_msg_count_root = channels.total_msg_count_root + 1,
    last_root_post_at = GREATEST(channels.last_root_post_at, $2)
  FROM ins WHERE channels.id = $1
  RETURNING channels.seq, channels.total_msg_count, channels.total_msg_count_root
), author AS (
  UPDATE channel_members cm SET msg_count = upd.total_msg_count, msg_count_root = upd.total_msg_count_root,
    last_viewed_at = GREATEST(cm.last_viewed_at, $2), last_update_at = $2
  FROM upd WHERE cm.channel_id = $1 AND cm.user_id = $3
), mentioned AS (
  UPDATE channel_members cm SET mention_count = cm.mention_count + 1, mention_count_root = cm.mention_count_root + 1
  FROM upd WHERE cm.channel_id = $1 AND cm.user_id = ANY($12::text[])
), event AS (
  INSERT INTO outbox (${OUTBOX_INSERT_COLUMNS}) SELECT $13, $14, $1, $15, $16, upd.seq FROM upd
)
SELECT (SELECT seq FROM upd) AS seq, (SELECT props FROM ins) AS props, (SELECT metadata FROM ins) AS metadata,
       EXISTS (SELECT 1 FROM c) AS locked, clock_timestamp() > to_timestamp($21::bigint / 1000.0) AS late`;

export interface FastCreateInput {
  readonly row: PostRow;
  readonly channel: ChannelFacts;
  readonly senderUsername: string;
  readonly setOnline: boolean;
  /** The DM partner, or nobody. */
  readonly mentionedUserIds: readonly string[];
  readonly deadline: number;
  readonly now: number;
}

export type FastCreateResult =
  | { readonly kind: "created"; readonly post: PostRow }
  | { readonly kind: "exists" }
  /** The deadline passed while the statement waited for the channel: nothing was written. */
  | { readonly kind: "late" }
  | { readonly kind: "fallback" };

export async function createPostInOneStatement(q: Queryable, i: FastCreateInput): Promise<FastCreateResult> {
  const r = i.row;
  // The event is rendered before the statement; its channel_seq is filled in by the relay.
  const [entry] = postedEvents(channelChange(i.channel, 0n, i.now), {
    post: r,
    channel: i.channel,
    senderUsername: i.senderUsername,
    setOnline: i.setOnline,
    mentionedUserIds: i.mentionedUserIds,
    followerUserIds: [],
  });
  const { rows } = await q.query<{ seq: number | null; props: PostRow["props"]; metadata: PostRow["metadata"]; locked: boolean; late: boolean }>(
    SQL,
    [
      r.channel_id, r.create_at, r.user_id, r.id, r.message, r.type, JSON.stringify(r.props), r.hashtags, r.file_ids, r.pending_post_id,
      JSON.stringify(r.metadata), [...i.mentionedUserIds], entry!.event.id, subjects.channel(r.channel_id), encodeEvent(entry!.event), i.now,
      i.channel.team_id, i.channel.type, i.channel.name, i.channel.display_name, i.deadline,
    ],
    { prepare: true },
  );
  const out = rows[0]!;
  if (out.seq !== null) return { kind: "created", post: { ...r, props: out.props, metadata: out.metadata } };
  if (!out.locked) return { kind: "fallback" };
  return out.late ? { kind: "late" } : { kind: "exists" };
}
