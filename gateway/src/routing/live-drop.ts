/**
 * A test-only failpoint that loses live events, as core NATS may: SB_FAILPOINTS entry
 * `gateway.drop_live_channel_seq.<N>` makes the gateway ignore, once per channel, the event
 * with channel_seq N as it arrives live (a repair may still bring it from the stream or the
 * database). Absent in production: the hub then never calls anything per event.
 */
import type { Event } from "@switchboard/proto/events";

const PREFIX = "gateway.drop_live_channel_seq.";

export type LiveDrop = (channelId: string, ev: Event) => boolean;

export function liveDropFailpoint(enabled: readonly string[]): LiveDrop | undefined {
  const seqs = enabled
    .filter((n) => n.startsWith(PREFIX))
    .map((n) => {
      const v = n.slice(PREFIX.length);
      if (!/^[1-9][0-9]{0,15}$/.test(v)) throw new Error(`failpoint ${n}: expected ${PREFIX}<channel_seq, a positive integer>`);
      return BigInt(v);
    });
  if (seqs.length === 0) return undefined;
  const dropped = new Set<string>();
  return (channelId, ev) => {
    if (!seqs.includes(ev.channelSeq)) return false;
    const key = `${channelId}/${ev.channelSeq}`;
    if (dropped.has(key)) return false;
    dropped.add(key);
    return true;
  };
}
