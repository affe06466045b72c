/**
 * Closing the gap of a new channel subscription. When a membership change makes this gateway
 * subscribe a channel it did not hold, events published after the change but before the
 * subscription reached the NATS server would be lost. The change carries the channel's
 * sequence number S: after subscribing, the gateway reads the channel's recent events from
 * the stream and delivers those after S, holding live events meanwhile, then releases them;
 * the per-channel sequence drops whatever arrives twice.
 */
import { decodeEvent, readStreamRange, streams, type Bus } from "@switchboard/bus";
import type { Logger } from "@switchboard/log";
import type { Event } from "@switchboard/proto/events";

const EVENT_STREAM = streams.events.name;
/** How far before the membership change to start reading (clock skew between hosts). */
const LOOKBACK_MS = 5_000;

export class ChannelBackfill {
  private readonly lastSeq = new Map<string, bigint>();
  private readonly holding = new Map<string, Event[]>();

  constructor(
    private readonly o: {
      bus: Bus;
      log: Logger;
      process: (ev: Event, subject: string) => void;
      onRecovered: (n: number) => void;
    },
  ) {}

  /**
   * Per-channel order: false for an event of a change older than the last one processed.
   * Events of one change share its sequence number (e.g. the two post_deleted copies).
   */
  accept(channelId: string, seq: bigint): boolean {
    const last = this.lastSeq.get(channelId);
    if (last !== undefined && seq < last) return false;
    this.lastSeq.set(channelId, seq);
    return true;
  }

  forget(channelId: string): void {
    this.lastSeq.delete(channelId);
  }

  /** Holds a live event while its subject is being back-filled. */
  hold(subject: string, ev: Event): boolean {
    const held = this.holding.get(subject);
    if (!held) return false;
    held.push(ev);
    return true;
  }

  start(subject: string, change: Event): void {
    if (this.holding.has(subject)) return;
    this.holding.set(subject, []);
    void this.run(subject, change);
  }

  private async run(subject: string, change: Event): Promise<void> {
    let recovered = 0;
    const recoveredIds = new Set<string>();
    try {
      await this.o.bus.flush();
      const msgs = await readStreamRange(this.o.bus, {
        stream: EVENT_STREAM,
        filterSubjects: [subject],
        start: { timeMs: Number(change.originTimeMs) - LOOKBACK_MS },
      });
      for (const m of msgs) {
        const ev = decodeEvent(m.data);
        if (ev.channelSeq <= change.channelSeq) continue;
        recovered++;
        recoveredIds.add(ev.id);
        this.o.process(ev, subject);
      }
    } catch (e: unknown) {
      this.o.log.warn({ subject, err: e }, "channel back-fill failed; live events continue");
    } finally {
      const held = this.holding.get(subject) ?? [];
      this.holding.delete(subject);
      for (const ev of held) if (!recoveredIds.has(ev.id)) this.o.process(ev, subject);
      if (recovered > 0) this.o.onRecovered(recovered);
    }
  }
}
