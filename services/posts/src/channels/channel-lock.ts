/**
 * Every transaction that emits events for a channel first bumps that channel's `seq`. The
 * row lock this takes serializes the channel's changes, so their outbox rows are inserted in
 * commit order (the relay publishes a partition in insert order), and the new value numbers
 * the change in the channel's event stream (Event.channel_seq).
 */
import type { Queryable } from "@switchboard/db";
import type { ChannelRow } from "./channel-store.js";
import { CHANNEL_COLUMNS } from "./channel-store.js";

/** Locks one channel and returns its row and the change's sequence number (undefined: no such channel). */
export async function lockChannel(q: Queryable, channelId: string): Promise<{ channel: ChannelRow; seq: bigint } | undefined> {
  const { rows } = await q.query<ChannelRow & { seq: number }>(
    `UPDATE channels SET seq = seq + 1 WHERE id = $1 RETURNING ${CHANNEL_COLUMNS}, seq`,
    [channelId],
    { prepare: true },
  );
  const r = rows[0];
  return r ? { channel: r, seq: BigInt(r.seq) } : undefined;
}

/**
 * Locks several channels in id order (so two transactions over overlapping sets cannot
 * deadlock) and returns each one's sequence number for this change.
 */
export async function lockChannels(q: Queryable, channelIds: readonly string[]): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  if (channelIds.length === 0) return out;
  const { rows } = await q.query<{ id: string; seq: number }>(
    `UPDATE channels SET seq = seq + 1
     WHERE id IN (SELECT id FROM channels WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE)
     RETURNING id, seq`,
    [[...new Set(channelIds)]],
  );
  for (const r of rows) out.set(r.id, BigInt(r.seq));
  return out;
}
