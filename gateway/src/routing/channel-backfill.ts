/**
 * Every channel's events in sequence (channel_seq, services/posts/src/channels/channel-seq.ts):
 * every change of a channel after its creation has a copy on the channel's subject, so on that
 * subject the numbers go 1, 2, 3, ... and a jump means this gateway missed a change. Two things
 * open such a hole, and both are repaired the same way:
 * - a new channel subscription: events published after a membership change but before the
 *   subscription reached the NATS server never arrive; the change carries the channel's
 *   number S, so everything after S is read back;
 * - a hole in live traffic (an event with seq > last + 1): NATS core delivery is at most once.
 *
 * A repair holds the channel's live events, reads the channel's events after the last number
 * processed from the stream and, for numbers the stream lacks (JetStream can lose
 * acknowledged writes), from the database through posts (GetChannelEvents), then delivers
 * them and the held events in order. It has a deadline: a hole that no source filled in time
 * is never passed on silently; the channel's local connections are forced to resync instead.
 */
import { subjects } from "@switchboard/bus";
import type { Logger } from "@switchboard/log";
import type { Event } from "@switchboard/proto/events";

/** How far before the last known event to start reading (clock skew between hosts). */
const LOOKBACK_MS = 5_000;
/** The most changes one database read asks for (GetChannelEvents' limit). */
const MAX_DB_SPAN = 500n;
/** Channels per heads() call (GetChannelHeads' limit). */
const HEADS_PER_CALL = 1_000;

export type SeqVerdict = "deliver" | "old" | "held";

export interface ChannelBackfillOptions {
  readonly log: Logger;
  /** The subject's events stored in the stream from `fromMs` on, in stream order (after a flush: what reached the server is in). */
  readonly stream: (subject: string, fromMs: number) => Promise<Event[]>;
  /** The channel's committed events with after < channel_seq <= upTo, from the database. */
  readonly committed: (channelId: string, after: bigint, upTo: bigint) => Promise<Event[]>;
  /**
   * The channel's last committed number (posts), read once the subscription is at the server.
   * A new subscription needs it: an event published just before the subscription reached the
   * server may not be in the stream yet when the stream is read (the stream stores it after
   * the server has passed it on, after its replicas agree), and if it is the channel's last
   * change nothing later reveals the hole. Anything committed after this read is published
   * after it, so the subscription gets it live.
   */
  readonly heads: (channelIds: readonly string[]) => Promise<readonly { readonly channelId: string; readonly seq: bigint }[]>;
  /**
   * How long after a new subscription its channel's head is read again. In a NATS cluster the
   * subscription's interest reaches the other servers after the flush that confirmed it on the
   * gateway's own: an event published on another server meanwhile is not forwarded, and if it
   * is the channel's last change nothing later reveals the hole. Longer than interest takes to
   * spread; a change missed so is delivered this late.
   */
  readonly verifyAfterMs: number;
  /**
   * At the same time, the channel's ephemeral events (typing, outside the sequence, so no head
   * shows them missing) since the subscription are read back and the missed ones delivered.
   */
  readonly replayEphemeral: (channelId: string, fromMs: number) => Promise<void>;
  /** Applies and delivers one recovered or released event of the channel's subject. */
  readonly process: (ev: Event, subject: string) => void;
  /** Whether the channel still has local members (a repair of a dropped channel delivers nothing). */
  readonly routed: (channelId: string) => boolean;
  /** Forces the channel's local connections to resync: what they missed cannot be delivered. */
  readonly resync: (channelId: string) => void;
  /** How long a repair may hold a channel before its connections are resynced instead. */
  readonly repairTimeoutMs: number;
  readonly onRecovered: (source: "stream" | "database", n: number) => void;
  readonly onGap: () => void;
  readonly onUnrepaired: () => void;
}

/**
 * The last change processed in a channel, mutated in place, its number as a plain number
 * (below 2^53): the check of each event allocates nothing, not even a bigint.
 */
interface Mark {
  seq: number;
  timeMs: number;
}

interface Run {
  readonly channelId: string;
  /** The last number known delivered: the repair fills what follows. */
  readonly after: bigint;
  /** The last number known committed (a channel's head, from posts), when known. */
  upTo: bigint;
  /** A new subscription's read-back: the channel's head is read too (ChannelBackfillOptions.head). */
  readonly readHead: boolean;
  /** Live events of the subject that arrived meanwhile, in arrival order. */
  readonly held: Event[];
  done: boolean;
}

export class ChannelBackfill {
  private readonly marks = new Map<string, Mark>();
  private readonly runs = new Map<string, Run>();
  /** The channel whose repaired events are being released: its remaining holes were dealt with (resync). */
  private releasing: string | undefined;
  /** Channels newly subscribed whose head is read again after verifyAfterMs (one batched read). */
  private readonly toVerify = new Map<string, number>();
  private verifyTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ChannelBackfillOptions) {}

  /**
   * The sequence check of one channel event: "old" for a change older than the last one
   * processed (events of one change share its number, e.g. the two post_deleted copies, and
   * pass), "held" when it opens a hole (a repair starts and the event waits for it).
   */
  check(channelId: string, subject: string, ev: Event): SeqVerdict {
    const seq = Number(ev.channelSeq);
    const m = this.marks.get(channelId);
    if (!m) {
      this.marks.set(channelId, { seq, timeMs: Number(ev.originTimeMs) });
      return "deliver";
    }
    if (seq < m.seq) return "old";
    if (seq > m.seq + 1 && this.releasing !== channelId) {
      this.o.onGap();
      this.o.log.warn({ channel_id: channelId, last_seq: m.seq, seq }, "hole in a channel's sequence: repairing");
      this.startRun(subject, channelId, BigInt(m.seq), m.timeMs, [ev]);
      return "held";
    }
    m.seq = seq;
    m.timeMs = Number(ev.originTimeMs);
    return "deliver";
  }

  /** The last local member left the channel: its state goes, and a repair under way delivers nothing. */
  forget(channelId: string): void {
    this.marks.delete(channelId);
    this.toVerify.delete(channelId);
    this.runs.delete(subjects.channel(channelId));
  }

  /** Every connection was resynced: no channel's past needs repairing any more. */
  reset(): void {
    this.marks.clear();
    this.toVerify.clear();
  }

  /** Stops the pending head verification (the gateway is stopping). */
  close(): void {
    clearTimeout(this.verifyTimer);
    this.verifyTimer = undefined;
    this.toVerify.clear();
  }

  /** The channels whose sequence is followed here. */
  channels(): string[] {
    return [...this.marks.keys()];
  }

  /**
   * The channels' last committed numbers (from posts, after an outage): a channel whose head
   * is past the last number processed lost its latest changes, which no later event will
   * reveal if the channel goes quiet; they are repaired like any hole.
   */
  verifyHeads(heads: readonly { readonly channelId: string; readonly seq: bigint }[]): number {
    let started = 0;
    for (const h of heads) {
      const m = this.marks.get(h.channelId);
      const subject = subjects.channel(h.channelId);
      if (!m || h.seq <= BigInt(m.seq)) continue;
      if (this.runs.has(subject)) {
        // A repair is under way: its end may still fall short of this head, so look again later.
        this.verifyLater(h.channelId);
        continue;
      }
      this.o.onGap();
      this.startRun(subject, h.channelId, BigInt(m.seq), m.timeMs, [], h.seq);
      started++;
    }
    return started;
  }

  /** Holds a live event while its subject is being repaired. */
  hold(subject: string, ev: Event): boolean {
    const run = this.runs.get(subject);
    if (!run) return false;
    run.held.push(ev);
    return true;
  }

  /** A membership change subscribed this gateway to the channel: read back what followed it. */
  start(subject: string, channelId: string, change: Event): void {
    if (this.runs.has(subject)) return;
    let m = this.marks.get(channelId);
    if (!m || m.seq < Number(change.channelSeq)) {
      m = { seq: Number(change.channelSeq), timeMs: Number(change.originTimeMs) };
      this.marks.set(channelId, m);
    }
    this.startRun(subject, channelId, BigInt(m.seq), m.timeMs, [], 0n, true);
    this.verifyLater(channelId);
  }

  /**
   * A member's removal came on their own subject (`ev`, numbered S) while this channel's
   * events are known only up to a number below S - 1: the changes in between are still owed
   * to the member, and once the removal is applied nothing would deliver them (the channel may
   * even be dropped here). So the removal waits, held like a live event of the channel, behind
   * a repair of what precedes it. Returns false when nothing precedes it unseen (apply it now).
   */
  holdRemoval(subject: string, channelId: string, ev: Event): boolean {
    if (this.hold(subject, ev)) return true;
    const m = this.marks.get(channelId);
    if (!m || Number(ev.channelSeq) <= m.seq + 1) return false;
    this.startRun(subject, channelId, BigInt(m.seq), m.timeMs, [ev]);
    return true;
  }

  /** Reads these channels' heads (batched) and repairs those behind theirs; returns how many. */
  async verify(channelIds: readonly string[]): Promise<number> {
    let started = 0;
    for (let i = 0; i < channelIds.length; i += HEADS_PER_CALL) started += this.verifyHeads(await this.o.heads(channelIds.slice(i, i + HEADS_PER_CALL)));
    return started;
  }

  private verifyLater(channelId: string): void {
    if (!this.toVerify.has(channelId)) this.toVerify.set(channelId, Date.now());
    if (this.verifyTimer) return;
    this.verifyTimer = setTimeout(() => void this.verifyNow(), this.o.verifyAfterMs);
    this.verifyTimer.unref();
  }

  private async verifyNow(): Promise<void> {
    this.verifyTimer = undefined;
    const since = [...this.toVerify];
    const ids = since.map(([id]) => id);
    this.toVerify.clear();
    try {
      await this.verify(ids);
    } catch (e: unknown) {
      // Best effort, like the check after an outage: a later event of the channel still shows a hole.
      this.o.log.warn({ err: e, channels: ids.length }, "reading new subscriptions' channel heads failed");
    }
    for (const [id, fromMs] of since) {
      if (!this.marks.has(id)) continue;
      // Best effort too: typing is Mattermost's least promised event.
      await this.o.replayEphemeral(id, fromMs).catch((e: unknown) => this.o.log.warn({ err: e, channel_id: id }, "reading a channel's typing back failed"));
    }
  }

  private startRun(subject: string, channelId: string, after: bigint, sinceMs: number, held: Event[], upTo = 0n, readHead = false): void {
    const run: Run = { channelId, after, upTo, readHead, held, done: false };
    this.runs.set(subject, run);
    const found = new Map<bigint, Event[]>();
    const timer = setTimeout(() => this.finish(subject, run, found, "repair deadline passed"), this.o.repairTimeoutMs);
    void this.repair(subject, run, sinceMs, found).then(
      () => {
        clearTimeout(timer);
        this.finish(subject, run, found, undefined);
      },
      (e: unknown) => {
        clearTimeout(timer);
        this.o.log.warn({ subject, err: e }, "channel repair failed");
        this.finish(subject, run, found, "repair failed");
      },
    );
  }

  /** Fills `found` (by number) from the stream, then what the stream lacks from the database. */
  private async repair(subject: string, run: Run, sinceMs: number, found: Map<bigint, Event[]>): Promise<void> {
    const [stored, head] = await Promise.all([
      this.o.stream(subject, sinceMs - LOOKBACK_MS),
      run.readHead ? this.o.heads([run.channelId]).then((h) => h[0]?.seq ?? 0n) : 0n,
    ]);
    if (head > run.upTo) run.upTo = head;
    let fromStream = 0;
    for (const ev of stored) {
      if (ev.channelSeq <= run.after) continue;
      add(found, ev);
      fromStream++;
    }
    if (fromStream > 0) this.o.onRecovered("stream", fromStream);
    // Live events keep arriving while the database answers: ask again for holes they reveal.
    const asked = new Set<bigint>();
    for (;;) {
      const missing = holes(run, found).filter((s) => !asked.has(s));
      if (missing.length === 0 || run.done) return;
      const lo = missing[0]! - 1n;
      const hi = missing[missing.length - 1]!;
      if (hi - lo > MAX_DB_SPAN) return;
      for (let s = lo + 1n; s <= hi; s++) asked.add(s);
      const wanted = new Set(missing);
      const evs = await this.o.committed(run.channelId, lo, hi);
      let fromDb = 0;
      for (const ev of evs) {
        // Only the numbers the stream lacks (every copy of such a change comes from here).
        if (!wanted.has(ev.channelSeq)) continue;
        fromDb++;
        add(found, ev);
      }
      if (fromDb > 0) this.o.onRecovered("database", fromDb);
    }
  }

  private finish(subject: string, run: Run, found: Map<bigint, Event[]>, failure: string | undefined): void {
    if (run.done) return;
    run.done = true;
    if (this.runs.get(subject) !== run) return;
    this.runs.delete(subject);
    const left = holes(run, found);
    if (failure || left.length > 0) {
      this.o.onUnrepaired();
      this.o.log.warn(
        { channel_id: run.channelId, after: String(run.after), missing: left.slice(0, 10).map(String), reason: failure ?? "no source has them" },
        "channel hole not repaired: resyncing the channel's connections",
      );
      this.o.resync(run.channelId);
      if (!this.o.routed(run.channelId)) {
        this.forget(run.channelId);
        return;
      }
    }
    const out: Event[] = [];
    for (const s of [...found.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out.push(...found.get(s)!);
    // Held events after the recovered ones of their number: the recovered copy of an event
    // is the one delivered, the held one then drops as a repeat.
    const held = run.held.slice().sort((a, b) => (a.channelSeq < b.channelSeq ? -1 : a.channelSeq > b.channelSeq ? 1 : 0));
    this.releasing = run.channelId;
    try {
      let i = 0;
      let j = 0;
      while (i < out.length || j < held.length) {
        if (j >= held.length || (i < out.length && out[i]!.channelSeq <= held[j]!.channelSeq)) this.o.process(out[i++]!, subject);
        else this.o.process(held[j++]!, subject);
      }
    } finally {
      this.releasing = undefined;
    }
  }
}

function add(found: Map<bigint, Event[]>, ev: Event): void {
  const list = found.get(ev.channelSeq);
  if (list) {
    if (!list.some((e) => e.id === ev.id)) list.push(ev);
  } else {
    found.set(ev.channelSeq, [ev]);
  }
}

/** The numbers between the run's start and the highest number known (held, found, or the head) that nobody has. */
function holes(run: Run, found: Map<bigint, Event[]>): bigint[] {
  // The head itself is missing too unless someone has it: it is a number committed, not an event held.
  let top = run.upTo > run.after ? run.upTo + 1n : run.after;
  const heldSeqs = new Set<bigint>();
  for (const ev of run.held) {
    heldSeqs.add(ev.channelSeq);
    if (ev.channelSeq > top) top = ev.channelSeq;
  }
  for (const s of found.keys()) if (s > top) top = s;
  const out: bigint[] = [];
  for (let s = run.after + 1n; s < top; s++) if (!found.has(s) && !heldSeqs.has(s)) out.push(s);
  return out;
}
