/**
 * channel_seq: the one definition of a channel's event sequence.
 *
 * `channels.seq` counts the changes of a channel. A transaction that changes a channel takes
 * the channel's next number (NEXT_CHANNEL_SEQ, in the statement that locks the channel row or
 * in the statement that writes the change) and every event of that change carries it in the
 * envelope's channel_seq, via the outbox row (OutboxEntry.channelSeq, or the outbox insert of
 * the post write statement; the relay appends it to the payload). A transaction takes the
 * number only once it is sure to emit, or rolls back: so the events of a channel, in stream
 * order, carry 1, 2, 3, ... with no gap and no repeat, and a client or edge that sees a jump
 * knows it missed a change. Taking the number also locks the row, which serializes the
 * channel's changes: their outbox rows are inserted in commit order, and the relay publishes
 * a partition in insert order.
 *
 * In the sequence (one number per change, shared by all its copies):
 *   channel_created, direct_added, group_added (the creation: CREATION_SEQ);
 *   posted, with the ephemeral_message notices of the same post (post-write.ts);
 *   post_edited, post_deleted (both copies);
 *   reaction_added, reaction_removed;
 *   user_added, user_removed (channel and user copies), also when a team join or leave changes
 *   the membership of several channels (each channel numbers its own change);
 *   channel_updated (a conversion between public and private).
 * Outside it (no channel_seq):
 *   added_to_team, leave_team: a team's change, partitioned by the team, not of one channel;
 *   channel_converted: the team's copy of a conversion, to members of the team outside the
 *   channel too (the channel's own copy, channel_updated, is in the sequence);
 *   multiple_channels_viewed: one member's read state, sent to that user only; it changes
 *   nothing other members see, so it would make gaps for them.
 */
import type { Queryable } from "@switchboard/db";
import { CHANNEL_COLUMNS, type ChannelRow } from "./channel-row.js";

/** The creating transaction is the channel's first change: its events carry channel_seq 1. */
export const CREATION_SEQ = 1n;

/** The SET clause of an UPDATE of `channels` that takes the change's number (RETURNING seq gives it). */
export const NEXT_CHANNEL_SEQ = "seq = seq + 1";

/**
 * Locks one channel and takes the change's number; for changes that emit whenever they commit.
 * Returns the channel's row and the number (undefined: no such channel).
 */
export async function lockChannel(q: Queryable, channelId: string): Promise<{ channel: ChannelRow; seq: bigint } | undefined> {
  const { rows } = await q.query<ChannelRow & { seq: number }>(
    `UPDATE channels SET ${NEXT_CHANNEL_SEQ} WHERE id = $1 RETURNING ${CHANNEL_COLUMNS}, seq`,
    [channelId],
    { prepare: true },
  );
  const r = rows[0];
  return r ? { channel: r, seq: BigInt(r.seq) } : undefined;
}

/**
 * Locks several channels in id order (so two transactions over overlapping sets cannot
 * deadlock) without numbering a change: a change that may leave some of them unchanged numbers
 * only those it changed, with nextChannelSeqs. Returns the ids locked.
 */
export async function lockChannels(q: Queryable, channelIds: readonly string[]): Promise<string[]> {
  if (channelIds.length === 0) return [];
  const { rows } = await q.query<{ id: string }>("SELECT id FROM channels WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", [[...new Set(channelIds)]]);
  return rows.map((r) => r.id);
}

/** Takes the next number of each of these channels (locked already by this transaction). */
export async function nextChannelSeqs(q: Queryable, channelIds: readonly string[]): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  if (channelIds.length === 0) return out;
  const { rows } = await q.query<{ id: string; seq: number }>(`UPDATE channels SET ${NEXT_CHANNEL_SEQ} WHERE id = ANY($1::text[]) RETURNING id, seq`, [
    [...new Set(channelIds)],
  ]);
  for (const r of rows) out.set(r.id, BigInt(r.seq));
  return out;
}
