/**
 * Catching up after NATS delivered nothing for a while: a disconnection (the client reconnects
 * by itself, forever: packages/bus), or a connection that stayed up but went silent (the
 * canary, canary.ts). Core NATS does not buffer for a subscriber that is away, so what was
 * published meanwhile is read back from the event stream: from the start of the outage minus
 * a margin, for the subjects this gateway holds, delivered in stream order before any live
 * event that arrived since (those wait). Repeats are dropped by the hub (event id, and each
 * channel's sequence).
 *
 * When the stream cannot cover the outage (its first message is newer than the outage's
 * start, or the stream was created again since), nobody can tell what was lost: the
 * connections that lived through the outage are forced to resync (a new connection_id and
 * hello, the stock client's signal to reload), and nothing is back-filled for them.
 */
import { decodeEvent, EventName, type Bus, type StreamState } from "@switchboard/bus";

/** What the retention check reads of the stream. */
type Coverage = Pick<StreamState, "messages" | "firstSeq" | "lastSeq" | "firstTimeMs" | "lastTimeMs" | "createdMs">;
import type { Logger } from "@switchboard/log";
import type { Event } from "@switchboard/proto/events";
import type { Connection } from "../connections/connection.js";

/** The most events one read-back delivers: an outage with more is resynced, not replayed. */
const MAX_READ_BACK = 100_000;

/** The event stream as the read-back sees it. */
export interface EventStream {
  state(): Promise<Coverage>;
  /** Every event stored from `fromMs` on, in stream order, at most `max`. */
  read(fromMs: number, max: number): Promise<readonly { readonly subject: string; readonly data: Uint8Array }[]>;
}

export interface NatsRecoveryOptions {
  /** The connection (flush, whether it is up). */
  readonly bus: Pick<Bus, "flush" | "connected">;
  readonly stream: EventStream;
  readonly log: Logger;
  /** Read back this long before the outage's start (clock skew, messages in flight when it began). */
  readonly marginMs: number;
  /** How long the read-back may take before the affected connections are resynced instead. */
  readonly timeoutMs: number;
  /** Whether this gateway holds a subscription on the subject now. */
  readonly holds: (subject: string) => boolean;
  /** Delivers a recovered event (as a live one that is not held: channel repairs, dedupe). */
  readonly replay: (ev: Event, subject: string) => void;
  /** Delivers a live event that waited for the recovery (it may wait again, for a channel repair). */
  readonly release: (ev: Event, subject: string) => void;
  /** Every connection routed here now. */
  readonly connections: () => Connection[];
  /** Forces a connection to resync (forget it, close its socket with a reconnect code). */
  readonly resync: (conn: Connection) => void;
  /** The connections were resynced: the channels' sequences start afresh. */
  readonly resetSequences: () => void;
  readonly onRecovered: (n: number) => void;
  readonly onPastRetention: (connections: number) => void;
  /** The outage was read back and the waiting events released. */
  readonly onCaughtUp: () => void;
}

/**
 * The stream may lack what was published from `fromMs` on: it was created after the outage
 * began (`sinceMs`), or it dropped messages from its head (retention, a purge) up to one newer
 * than `fromMs`.
 */
export function pastRetention(st: Coverage, sinceMs: number, fromMs: number): boolean {
  if (st.createdMs > sinceMs) return true;
  if (st.messages > 0) return st.firstSeq > 1 && st.firstTimeMs > fromMs;
  // Empty: it lost nothing of the outage only if its last message is older (or it never had one).
  return st.lastSeq > 0 && (st.lastTimeMs === 0 || st.lastTimeMs > fromMs);
}

class RetentionGap extends Error {}

export class NatsRecovery {
  /** The start of the earliest outage not yet recovered. */
  private since: number | undefined;
  /** Live events waiting for the recovery under way (undefined: none under way). */
  private held: { ev: Event; subject: string }[] | undefined;
  private running = false;
  private again = false;

  constructor(private readonly o: NatsRecoveryOptions) {}

  /** Nothing was delivered from `sinceMs` on (a disconnection, a silent connection). */
  lost(sinceMs: number): void {
    if (this.since === undefined || sinceMs < this.since) this.since = sinceMs;
    // Live events wait from now on: the first ones after a reconnect can arrive before the
    // reconnect's status does, and must not overtake what the read-back brings.
    this.held ??= [];
  }

  /** Whether an outage waits to be recovered or is being recovered. */
  get recovering(): boolean {
    return this.since !== undefined || this.held !== undefined;
  }

  /** Delivery works again: read back the outage. */
  recover(): void {
    if (this.since === undefined) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.run();
  }

  /** Holds a live event while a recovery is under way. */
  hold(subject: string, ev: Event): boolean {
    if (!this.held) return false;
    this.held.push({ ev, subject });
    // Events keep coming but no recovery starts (a canary that cannot hear itself): give up
    // on the read-back rather than hold without bound.
    if (this.held.length > MAX_READ_BACK && !this.running) this.abandon("live events piled up while no recovery could start");
    return true;
  }

  private abandon(reason: string): void {
    const live = this.o.connections().filter((c) => !c.dead);
    this.o.onPastRetention(live.length);
    this.o.log.warn({ reason, connections: live.length }, "nats outage not recoverable: resyncing its connections");
    for (const c of live) this.o.resync(c);
    this.o.resetSequences();
    this.since = undefined;
    const held = this.held ?? [];
    this.held = undefined;
    for (const h of held) this.o.release(h.ev, h.subject);
  }

  private async run(): Promise<void> {
    const since = this.since!;
    this.since = undefined;
    this.running = true;
    this.held ??= [];
    const affected = this.o.connections();
    let caughtUp = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`stream read-back took over ${this.o.timeoutMs} ms`)), this.o.timeoutMs);
      });
      const msgs = await Promise.race([this.readBack(since), deadline]);
      let n = 0;
      for (const m of msgs) {
        if (!this.o.holds(m.subject)) continue;
        const ev = decodeEvent(m.data);
        // Typing is ephemeral: a stale indicator is worse than none.
        if (ev.event === EventName.Typing) continue;
        n++;
        this.o.replay(ev, m.subject);
      }
      this.o.onRecovered(n);
      caughtUp = true;
      this.o.log.info({ since: new Date(since).toISOString(), events: n }, "nats outage back-filled from the stream");
    } catch (e: unknown) {
      if (!(e instanceof RetentionGap) && !this.o.bus.connected) {
        // Disconnected again: keep holding and read the whole outage back at the next reconnect.
        this.lost(since);
        this.o.log.warn({ err: e }, "nats outage back-fill interrupted by another disconnection");
      } else {
        const live = affected.filter((c) => !c.dead);
        this.o.onPastRetention(live.length);
        this.o.log.warn({ err: e, connections: live.length, since: new Date(since).toISOString() }, "nats outage not recoverable: resyncing its connections");
        for (const c of live) this.o.resync(c);
        this.o.resetSequences();
      }
    } finally {
      clearTimeout(timer);
      this.running = false;
      // Another outage began meanwhile: its read-back comes first, the live events keep waiting.
      if (this.since === undefined) {
        const held = this.held ?? [];
        this.held = undefined;
        for (const h of held) this.o.release(h.ev, h.subject);
        if (caughtUp) this.o.onCaughtUp();
      }
      if (this.again) {
        this.again = false;
        this.recover();
      }
    }
  }

  private async readBack(since: number) {
    const fromMs = since - this.o.marginMs;
    await this.o.bus.flush();
    const st = await this.o.stream.state();
    if (pastRetention(st, since, fromMs)) {
      throw new RetentionGap(
        `the stream does not reach back to the outage (first message ${new Date(st.firstTimeMs).toISOString()}, created ${new Date(st.createdMs).toISOString()})`,
      );
    }
    const msgs = await this.o.stream.read(fromMs, MAX_READ_BACK);
    if (msgs.length >= MAX_READ_BACK) throw new RetentionGap(`the outage holds over ${MAX_READ_BACK} events`);
    return msgs;
  }
}
