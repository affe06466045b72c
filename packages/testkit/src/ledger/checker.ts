/**
 * The ledger check (RELIABILITY.md §10): what each recorder client should have received, from
 * the truth set, against what it did receive. Per client:
 * - missing: expected events it never got (after dedupe, what its app saw);
 * - duplicates: copies beyond the first, on the wire (raw: replays included) and as the app
 *   saw them;
 * - out of order: events of a channel that the app saw after a later event of that channel
 *   (by channel_seq);
 * - leaked: events of the checked kinds it must not have got (not a member, or not for it);
 * - seq gaps: times the client itself saw a seq it did not expect (closing with 4001);
 * - extra hellos: hellos after the first, and how many of them carried a new connection id
 *   (an explicit resync, which the client reports as missed events).
 * Only events written after the client's `from` position are expected; events written before
 * it are neither expected nor leaks. With `excuseResynced`, an event missing from a client that
 * was given a new connection id, and written before that hello, counts as resynced (the client
 * was told to fetch state afresh) rather than missing: a partial replay, a resume without a
 * new hello, stays missing. A final plain line `N passed, N failed` sums it up.
 */
import type { Recording, ReceivedEvent } from "./recorder.js";
import { CLIENT_SEQ_MISMATCH } from "./recorder.js";
import type { Truth, TruthEvent } from "./truth.js";

export interface ClientReport {
  readonly label: string;
  readonly userId: string;
  readonly expected: number;
  readonly received: number;
  readonly missing: readonly TruthEvent[];
  /** Missing, but written before a hello with a new connection id (only with `excuseResynced`). */
  readonly resynced: readonly TruthEvent[];
  /** From the outbox write to the app, over the events it got (first copies), in ms. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number } | undefined;
  readonly duplicatesRaw: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly leaked: readonly ReceivedEvent[];
  readonly seqGaps: number;
  readonly extraHellos: number;
  readonly newConnectionIds: number;
  readonly missedReports: number;
  /** The longest time from a close to the next socket open (undefined: no close; Infinity: not back). */
  readonly longestDownMs: number | undefined;
  /** Close codes seen (socket code, else the client's), with counts. */
  readonly closeCodes: Readonly<Record<string, number>>;
  readonly ok: boolean;
}

export interface LedgerReport {
  readonly clients: readonly ClientReport[];
  readonly passed: number;
  readonly failed: number;
  readonly ok: boolean;
  /** Totals over all clients. */
  readonly totals: {
    missing: number;
    resynced: number;
    duplicatesRaw: number;
    duplicates: number;
    outOfOrder: number;
    leaked: number;
    seqGaps: number;
    extraHellos: number;
  };
  /** Over every event every client got. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number } | undefined;
  /** The longest any client was without a socket after a close. */
  readonly longestDownMs: number | undefined;
  /** A readable report, one line per failing client, ending with `N passed, N failed`. */
  readonly text: string;
}

export interface CheckOptions {
  /** Ledger position for clients whose `from` is unset (default 0: everything in the ledger). */
  readonly from?: number;
  /** Hellos after the first that a client may have without failing (default 0). */
  readonly allowedExtraHellos?: number;
  /** Raw (wire) duplicates a client may have without failing (default: any; replays after a resume repeat frames the client had). */
  readonly allowedDuplicatesRaw?: number;
  /** Missing events written before a new connection id's hello count as resynced (default false). */
  readonly excuseResynced?: boolean;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Counts occurrences of each identity in order: the n-th copy of an id is (id, n). */
function occurrences<T>(items: readonly T[], idOf: (t: T) => string | undefined): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const id = idOf(it);
    if (id === undefined) continue;
    let l = m.get(id);
    if (!l) m.set(id, (l = []));
    l.push(it);
  }
  return m;
}

/**
 * The truth arranged for checking many clients: each user's events, and the identities written
 * up to each window start, built once per check rather than once per client.
 */
class TruthIndex {
  private readonly byUser = new Map<string, TruthEvent[]>();
  private readonly before = new Map<number, Set<string>>();

  constructor(private readonly truth: Truth) {
    for (const e of truth.events) {
      for (const u of e.recipients) {
        let l = this.byUser.get(u);
        if (!l) this.byUser.set(u, (l = []));
        l.push(e);
      }
    }
  }

  /** The user's events written after `from`, in ledger order. */
  eventsOf(userId: string, from: number): TruthEvent[] {
    return (this.byUser.get(userId) ?? []).filter((e) => e.ledgerId > from);
  }

  /** Identities of the events written up to `from`. */
  writtenBy(from: number): ReadonlySet<string> {
    let s = this.before.get(from);
    if (!s) {
      s = new Set();
      for (const e of this.truth.events) if (e.ledgerId <= from) s.add(e.identity.id);
      this.before.set(from, s);
    }
    return s;
  }
}

export function checkClient(truth: Truth, r: Recording, o: CheckOptions = {}): ClientReport {
  const { latencies: _, ...report } = checkOne(new TruthIndex(truth), r, o);
  return report;
}

function checkOne(truth: TruthIndex, r: Recording, o: CheckOptions): ClientReport & { latencies: number[] } {
  const from = r.from ?? o.from ?? 0;
  const before = truth.writtenBy(from);
  const mine = truth.eventsOf(r.userId, from);
  // Expected copies of each identity, in ledger order (one identity may recur: a reaction
  // added, removed and added again).
  const expected = occurrences(mine, (e) => e.identity.id);
  const seen = occurrences(r.events, (e) => e.identity?.id);
  const onWire = occurrences(r.wire, (e) => e.identity?.id);

  const missing: TruthEvent[] = [];
  const resynced: TruthEvent[] = [];
  const leaked: ReceivedEvent[] = [];
  const latencies: number[] = [];
  let duplicates = 0;
  let duplicatesRaw = 0;
  // The last hello that brought a new connection id: the client resynced from there.
  let resyncAt = Number.NEGATIVE_INFINITY;
  for (let i = 1; i < r.hellos.length; i++) if (r.hellos[i]!.connectionId !== r.hellos[i - 1]!.connectionId) resyncAt = r.hellos[i]!.recvTs;
  for (const [id, exp] of expected) {
    const gotList = seen.get(id) ?? [];
    const got = gotList.length;
    for (let i = 0; i < Math.min(got, exp.length); i++) latencies.push(gotList[i]!.recvTs - exp[i]!.createdAt);
    if (got < exp.length) {
      for (const e of exp.slice(got)) (o.excuseResynced && e.createdAt <= resyncAt ? resynced : missing).push(e);
    } else duplicates += got - exp.length;
    duplicatesRaw += Math.max(0, (onWire.get(id)?.length ?? 0) - exp.length);
  }
  for (const [id, got] of seen) {
    if (expected.has(id)) continue;
    // An event written before this client's window may still arrive: neither owed nor a leak.
    if (!before.has(id)) leaked.push(...got);
  }

  // Order: the app's events of each channel must follow channel_seq.
  const seqOf = new Map<string, number[]>();
  for (const [id, exp] of expected)
    seqOf.set(
      id,
      exp.map((e) => e.channelSeq ?? -1),
    );
  const maxSeq = new Map<string, number>();
  const used = new Map<string, number>();
  let outOfOrder = 0;
  for (const e of r.events) {
    const id = e.identity?.id;
    if (!id || !seqOf.has(id)) continue;
    const n = used.get(id) ?? 0;
    used.set(id, n + 1);
    const s = seqOf.get(id)![n];
    if (s === undefined || s < 0) continue;
    const ch = e.identity.channelId;
    const max = maxSeq.get(ch) ?? -1;
    if (s < max) outOfOrder++;
    else maxSeq.set(ch, s);
  }

  const closeCodes: Record<string, number> = {};
  let seqGaps = 0;
  for (const c of r.closes) {
    const code = c.clientCode ?? (c.socketCode === undefined ? "none" : String(c.socketCode));
    closeCodes[code] = (closeCodes[code] ?? 0) + 1;
    if (c.clientCode === String(CLIENT_SEQ_MISMATCH)) seqGaps++;
  }
  let longestDownMs: number | undefined;
  for (const c of r.closes) {
    const back = r.opens.find((x) => x.dial > c.dial);
    longestDownMs = Math.max(longestDownMs ?? 0, back ? back.ts - c.ts : Number.POSITIVE_INFINITY);
  }
  const ids = new Set(r.hellos.map((h) => h.connectionId));
  const extraHellos = Math.max(0, r.hellos.length - 1);
  const ok =
    missing.length === 0 &&
    duplicates === 0 &&
    outOfOrder === 0 &&
    leaked.length === 0 &&
    extraHellos <= (o.allowedExtraHellos ?? 0) &&
    duplicatesRaw <= (o.allowedDuplicatesRaw ?? Number.POSITIVE_INFINITY);
  latencies.sort((a, b) => a - b);
  return {
    label: r.label,
    userId: r.userId,
    expected: mine.length,
    received: r.events.filter((e) => e.identity).length,
    missing,
    resynced,
    latencyMs: latencies.length ? { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1)! } : undefined,
    duplicatesRaw,
    duplicates,
    outOfOrder,
    leaked,
    seqGaps,
    extraHellos,
    newConnectionIds: Math.max(0, ids.size - 1),
    missedReports: r.missedReports,
    longestDownMs,
    closeCodes,
    ok,
    latencies,
  };
}

function describe(c: ClientReport): string {
  const parts = [
    `expected ${String(c.expected)}`,
    `missing ${String(c.missing.length)}`,
    ...(c.resynced.length ? [`resynced ${String(c.resynced.length)}`] : []),
    `dup ${String(c.duplicates)} (raw ${String(c.duplicatesRaw)})`,
    `out-of-order ${String(c.outOfOrder)}`,
    `leaked ${String(c.leaked.length)}`,
    `seq gaps ${String(c.seqGaps)}`,
    `extra hellos ${String(c.extraHellos)} (new ids ${String(c.newConnectionIds)})`,
  ];
  const sample = c.missing
    .slice(0, 3)
    .map((e) => e.identity.id)
    .concat(c.leaked.slice(0, 3).map((e) => `leaked ${e.identity?.id ?? e.event}`));
  return `${c.ok ? "ok  " : "FAIL"} ${c.label}: ${parts.join(", ")}${sample.length ? `; e.g. ${sample.join("; ")}` : ""}`;
}

/** Checks every recording against the truth. */
export function checkLedger(truth: Truth, recordings: readonly Recording[], o: CheckOptions = {}): LedgerReport {
  const all: number[] = [];
  const index = new TruthIndex(truth);
  const clients = recordings.map((r) => {
    const { latencies, ...report } = checkOne(index, r, o);
    for (const l of latencies) all.push(l);
    return report;
  });
  all.sort((a, b) => a - b);
  const failed = clients.filter((c) => !c.ok).length;
  const passed = clients.length - failed;
  const sum = (f: (c: ClientReport) => number) => clients.reduce((n, c) => n + f(c), 0);
  const totals = {
    missing: sum((c) => c.missing.length),
    resynced: sum((c) => c.resynced.length),
    duplicatesRaw: sum((c) => c.duplicatesRaw),
    duplicates: sum((c) => c.duplicates),
    outOfOrder: sum((c) => c.outOfOrder),
    leaked: sum((c) => c.leaked.length),
    seqGaps: sum((c) => c.seqGaps),
    extraHellos: sum((c) => c.extraHellos),
  };
  const lines = clients.filter((c) => !c.ok).map(describe);
  lines.push(`${String(passed)} passed, ${String(failed)} failed`);
  const downs = clients.map((c) => c.longestDownMs).filter((d) => d !== undefined);
  return {
    clients,
    passed,
    failed,
    ok: failed === 0,
    totals,
    latencyMs: all.length ? { p50: percentile(all, 50), p99: percentile(all, 99), max: all.at(-1)! } : undefined,
    longestDownMs: downs.length ? Math.max(...downs) : undefined,
    text: lines.join("\n"),
  };
}
