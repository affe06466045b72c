/**
 * One measured burst: the load client is told the burst's post ids, the burst is fired, and
 * the deliveries are counted until every connection should have them all (or none has come
 * for a while). The server's CPU is read around it, and the load client's ledger is judged
 * by id and order per connection (completeness.ts): a burst that lost, repeated or reordered
 * a delivery makes a failed row, with its reason and no figures.
 */
import { verdict, type LedgerOrder, type Verdict } from "./completeness.js";
import { percentile } from "./closed-loop.js";
import { processCpuSeconds } from "./proc-cpu.js";
import type { Phase, ResultRow } from "./scenario.js";
import type { BurstFault, LoadClient } from "./ws-load/load-client-pool.js";

export interface BurstOptions {
  readonly client: LoadClient;
  /** The burst's post ids, in the order `fire` publishes them. */
  readonly ids: readonly string[];
  /** Connections of `client` that should each receive the whole burst. */
  readonly connections: number;
  readonly fire: () => void;
  /** The server whose CPU the burst is charged to. */
  readonly pid: number;
  readonly label: string;
  readonly subject: string;
  readonly peer: boolean;
  readonly phase?: (o: { total: number; deadlineMs: number }) => Phase;
  /** The wait ends this long after the last delivery when not all came (3 s). */
  readonly quietMs?: number;
  /** Once all came, the ledger is read this much later (200 ms), so that late extra deliveries (duplicates) are seen too. */
  readonly graceMs?: number;
  readonly timeoutMs?: number;
  /** Tests: a fault the load client makes on purpose. */
  readonly fault?: BurstFault;
  /** The order every connection must get the burst in: as `ids` lists them (default), or one order agreed by all (completeness.ts). */
  readonly order?: LedgerOrder;
}

export interface BurstResult {
  readonly row: ResultRow;
  readonly verdict: Verdict;
  readonly deliveries: number;
  readonly cpu: number;
  readonly wall: number;
  /** Per connection that got the whole burst: ms from the burst's start to its last delivery, ascending. */
  readonly completionMs: number[];
}

export async function runBurst(o: BurstOptions): Promise<BurstResult> {
  const expected = o.ids.length * o.connections;
  const quietMs = o.quietMs ?? 3_000;
  const timeoutMs = o.timeoutMs ?? 120_000;
  await o.client.expect(o.ids, o.fault, { order: o.order ?? "publish" });
  const before = (await o.client.count()).posted;
  const phase = o.phase?.({ total: expected, deadlineMs: timeoutMs });
  const cpu0 = processCpuSeconds(o.pid);
  const t0 = performance.now();
  const started = performance.timeOrigin + t0;
  o.fire();
  let got = 0;
  let lastChange = t0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    const n = (await o.client.count()).posted - before;
    const now = performance.now();
    if (n !== got) lastChange = now;
    got = n;
    phase?.update(got);
    if (got >= expected || now - lastChange > quietMs || now - t0 > timeoutMs) break;
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = processCpuSeconds(o.pid) - cpu0;
  phase?.end(got);
  await new Promise((r) => setTimeout(r, o.graceMs ?? 200));
  const summary = await o.client.ledger();
  const v = verdict(summary);
  const completionMs = summary.completedAt.map((t) => t - started).sort((a, b) => a - b);
  const values = {
    deliveries: got,
    cpu_s: cpu,
    wall_s: wall,
    deliveries_per_cpu_s: Math.round(got / Math.max(cpu, 0.01)),
    deliveries_per_s: Math.round(got / wall),
    completion_p50_ms: percentile(completionMs, 50),
    completion_p99_ms: percentile(completionMs, 99),
  };
  const row: ResultRow = v.complete
    ? { label: o.label, subject: o.subject, peer: o.peer, values }
    : { label: o.label, subject: o.subject, peer: o.peer, values: {}, failed: v.reason };
  return { row, verdict: v, deliveries: got, cpu, wall, completionMs };
}
