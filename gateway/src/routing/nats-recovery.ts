/**
 * Catching up after NATS delivered nothing for a while: a disconnection (the client reconnects
 * by itself, forever: packages/bus), or a connection that stayed up but went silent (the
 * canary, canary.ts). Core NATS does not buffer for a subscriber that is away, so what was
 * published meanwhile is read back from the event stream: from the start of the outage minus
 * a margin, for the subjects this gateway holds, delivered in stream order before any live
 * event that arrived since (those wait). Repeats are dropped by the hub (event id, and each
 * channel's sequence).
 *
 * A read-back that fails (the stream electing a leader after its nodes came back, "JetStream
 * system temporarily unavailable", a request timing out) is tried again every
 * RETRY_INTERVAL_MS until the recovery's deadline: the stream most likely still holds every
 * event, and a resync costs every client a reload.
 *
 * When the stream cannot cover the outage (its first message is newer than the outage's
 * start, or the stream was created again since), or the read-back did not succeed by its
 * deadline, nobody can tell what was lost: the connections that lived through the outage are
 * forced to resync (a new connection_id and hello, the stock client's signal to reload), and
 * nothing is back-filled for them.
 *
 * What is read back reaches a connection only if it was stored after this gateway began
 * routing to the connection (`owedTo`): the margin reaches back before connections that came
 * meanwhile, and they must not get what was published before they existed.
 */
import { decodeEvent, EventName, type Bus, type StreamState } from "@switchboard/bus";

/** What the retention check reads of the stream. */
type Coverage = Pick<StreamState, "messages" | "firstSeq" | "lastSeq" | "firstTimeMs" | "lastTimeMs" | "createdMs">;
import type { Logger } from "@switchboard/log";
import type { Event } from "@switchboard/proto/events";
import type { Connection } from "../connections/connection.js";

/** The most events one read-back delivers: an outage with more is resynced, not replayed. */
const MAX_READ_BACK = 100_000;
/** Between attempts of a read-back that failed (the stream's leader election takes seconds). */
const RETRY_INTERVAL_MS = 500;

/**
 * Whether an event published at `publishedMs` (read back: when the stream stored it; held
 * live: when it arrived here) is owed by this gateway to a connection it has routed to since
 * `routedSinceMs` (Connection.routedSinceMs). Live delivery reaches the connections routed
 * when the event arrives, and a read-back must not do more: an event published before the
 * connection was routed here was committed before its `hello` (a fresh connection loads
 * that state over REST), or was the previous gateway's to hand over (a connection resumed
 * from another gateway is routed here before the holder is asked, so what the holder had is
 * in its answer). The read-back's margin is not subtracted here: it exists to read back
 * earlier, and subtracting it would hand those connections the very events published before
 * they existed. The stored time is the NATS node's clock, `routedSinceMs` the gateway's: a
 * node clock behind the gateway's by d could withhold an event stored within d after the
 * connection was routed, so the deployment keeps its clocks in sync (NTP) well under the
 * margin, as the read-back's start already assumes.
 */
export function owedTo(routedSinceMs: number, publishedMs: number): boolean {
  return publishedMs >= routedSinceMs;
}

/** A message read back from the stream. */
export interface StoredEvent {
  readonly subject: string;
  readonly data: Uint8Array;
  /** When the stream stored it, Unix ms (the NATS node's clock). */
  readonly timeMs: number;
}

/** The event stream as the read-back sees it. */
export interface EventStream {
  state(): Promise<Coverage>;
  /** Every event stored from `fromMs` on, in stream order, at most `max`. */
  read(fromMs: number, max: number): Promise<readonly StoredEvent[]>;
}

export interface NatsRecoveryOptions {
  /** The connection (flush, whether it is up). */
  readonly bus: Pick<Bus, "flush" | "connected">;
  readonly stream: EventStream;
  readonly log: Logger;
  /** Read back this long before the outage's start (clock skew, messages in flight when it began). */
  readonly marginMs: number;
  /** How long the read-back (its retries included) may take before the affected connections are resynced instead. */
  readonly timeoutMs: number;
  /** Whether this gateway holds a subscription on the subject now. */
  readonly holds: (subject: string) => boolean;
  /**
   * Delivers a recovered event (as a live one that is not held: channel repairs, dedupe) to
   * the connections it is owed to (`owedTo`, with the time the stream stored it).
   */
  readonly replay: (ev: Event, subject: string, storedMs: number) => void;
  /**
   * Delivers a live event that waited for the recovery (it may wait again, for a channel
   * repair) to the connections it is owed to (`owedTo`, with the time it arrived).
   */
  readonly release: (ev: Event, subject: string, arrivedMs: number) => void;
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
  private held: { ev: Event; subject: string; arrivedMs: number }[] | undefined;
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
    this.held.push({ ev, subject, arrivedMs: Date.now() });
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
    for (const h of held) this.o.release(h.ev, h.subject, h.arrivedMs);
  }

  private async run(): Promise<void> {
    const since = this.since!;
    this.since = undefined;
    this.running = true;
    this.held ??= [];
    const affected = this.o.connections();
    let caughtUp = false;
    let timer: NodeJS.Timeout | undefined;
    const attempt = { until: Date.now() + this.o.timeoutMs, over: false };
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`stream read-back took over ${this.o.timeoutMs} ms`)), this.o.timeoutMs);
      });
      const msgs = await Promise.race([this.readBackRetrying(since, attempt), deadline]);
      let n = 0;
      for (const m of msgs) {
        if (!this.o.holds(m.subject)) continue;
        const ev = decodeEvent(m.data);
        // Typing is ephemeral: a stale indicator is worse than none.
        if (ev.event === EventName.Typing) continue;
        n++;
        this.o.replay(ev, m.subject, m.timeMs);
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
      attempt.over = true;
      clearTimeout(timer);
      this.running = false;
      // Another outage began meanwhile: its read-back comes first, the live events keep waiting.
      if (this.since === undefined) {
        const held = this.held ?? [];
        this.held = undefined;
        for (const h of held) this.o.release(h.ev, h.subject, h.arrivedMs);
        if (caughtUp) this.o.onCaughtUp();
      }
      if (this.again) {
        this.again = false;
        this.recover();
      }
    }
  }

  /**
   * Reads the outage back, again every RETRY_INTERVAL_MS while it fails for a reason other
   * than a retention gap, NATS is connected and the deadline leaves room for another attempt.
   */
  private async readBackRetrying(since: number, attempt: { readonly until: number; readonly over: boolean }): Promise<readonly StoredEvent[]> {
    for (let failures = 1; ; failures++) {
      try {
        return await this.readBack(since);
      } catch (e: unknown) {
        if (e instanceof RetentionGap || !this.o.bus.connected || attempt.over || Date.now() + RETRY_INTERVAL_MS >= attempt.until) throw e;
        this.o.log.warn({ err: e, failures, retryInMs: RETRY_INTERVAL_MS }, "nats outage read-back failed: retrying");
        await new Promise((r) => setTimeout(r, RETRY_INTERVAL_MS));
      }
    }
  }

  private async readBack(since: number): Promise<readonly StoredEvent[]> {
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
