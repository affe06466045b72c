/**
 * SIGKILL of one gateway of three behind HAProxy while posts flow. Nobody can hand its
 * connections over, so each of its clients reconnects (through HAProxy, to a survivor) naming
 * a connection no gateway holds: the claim goes unanswered and the client gets a new
 * connection_id and hello, which the stock client reports as missed events (its app resyncs).
 * The promise: never a partial replay. A client that kept its connection_id has every event
 * with its seq consecutive; one that got a new id has every event written after that hello;
 * and the clients of the other two gateways see nothing at all: no close, nothing missing.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startCluster, waitFor, type Cluster, type Recorder, type Workload } from "@switchboard/testkit";
import { faultMetrics, gatewayMetrics, metricSum } from "./gateway-ops.js";
import { clusterSize, figure, loadEnv, startLoad } from "./load.js";

let cluster: Cluster;
let work: Workload;

beforeAll(async () => {
  cluster = await startCluster({ size: clusterSize, env: loadEnv, topology: { gateways: 3 } });
  work = await startLoad(cluster);
}, 180_000);

afterAll(async () => {
  await work?.stop();
  await cluster?.stop();
}, 120_000);

/** The gateway a client said hello from (the stock client keeps the hello's server_hostname). */
const gatewayOf = (r: Recorder): string => (r.client as unknown as { serverHostname?: string }).serverHostname ?? "";

const percentile = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
};

it("gives every client of a killed gateway a full replay or a new connection_id, and leaves the others alone", async () => {
  const victimIndex = 0;
  const victim = cluster.gateways.list[victimIndex]!;
  const onVictim = work.recorders.filter((r) => gatewayOf(r) === victim.name);
  const others = work.recorders.filter((r) => gatewayOf(r) !== victim.name);
  const socketsBefore = metricSum(await gatewayMetrics(victim.opsPort), "sb_gateway_sockets");
  // The hellos say who is where; the gateway's own gauge agrees (no client is counted twice).
  expect(onVictim.length).toBeGreaterThan(0);
  expect(onVictim.length).toBe(socketsBefore);
  expect(others.every((r) => gatewayOf(r) !== "")).toBe(true);

  work.startPosting();
  await waitFor(() => work.stats.created >= 20, { timeoutMs: 30_000, what: "posts to flow before the kill" });
  // What each client lived through before the kill (a close while the population connected) is not the kill's.
  const closesBefore = new Map(work.recorders.map((r) => [r, r.closes.length]));
  const hellosBefore = new Map(work.recorders.map((r) => [r, r.hellos.length]));
  const closeOf = (r: Recorder) => r.closes[closesBefore.get(r)!];
  const killedAt = Date.now();
  victim.process.signal("SIGKILL");
  await victim.process.exited;

  // Each of its clients is back: a socket opened after its close (and, without a holder, a hello).
  const backOf = (r: Recorder) => r.opens.find((o) => o.dial > closeOf(r)!.dial);
  await waitFor(() => onVictim.every((r) => closeOf(r) && backOf(r)), {
    timeoutMs: 60_000,
    what: "every client of the killed gateway to reconnect",
  });
  // Posts keep flowing after everyone is back, so what follows a resync is checked too.
  const createdBack = work.stats.created;
  await waitFor(() => work.stats.created >= createdBack + 20, { timeoutMs: 30_000, what: "posts after the reconnects" });

  // Restore: the dead gateway's slot emptied, a new gateway in the pool.
  await cluster.gateways.remove(victimIndex);
  await cluster.gateways.add();
  const stats = await work.stopPosting();
  const report = await work.settle({ excuseResynced: true, allowedExtraHellos: 1, timeoutMs: 60_000 });
  if (!report.ok) console.log(report.text);
  const byUser = new Map(report.clients.map((c) => [c.userId, c]));

  // A client of the killed gateway either kept its connection_id (a full replay) or got a new one.
  const idsSince = (r: Recorder) => new Set(r.hellos.slice(hellosBefore.get(r)! - 1).map((h) => h.connectionId));
  const kept = onVictim.filter((r) => idsSince(r).size === 1);
  const renewed = onVictim.filter((r) => !kept.includes(r));
  const partialReplays = kept.filter((r) => byUser.get(r.userId)!.missing.length > 0 || byUser.get(r.userId)!.resynced.length > 0);
  const backMs = onVictim.map((r) => backOf(r)!.ts - closeOf(r)!.ts);
  const helloMs = renewed.map((r) => r.hellos[hellosBefore.get(r)!]!.recvTs - closeOf(r)!.ts);
  const survivors = await Promise.all(cluster.gateways.list.map(async (g) => faultMetrics(await gatewayMetrics(g.opsPort))));
  const claimsMissed = survivors.reduce((n, m) => n + (m["resume_claims{missed}"] ?? 0), 0);
  figure("gateway kill", {
    clients: work.recorders.length,
    on_killed_gateway: onVictim.length,
    kept_connection_id: kept.length,
    new_connection_id: renewed.length,
    partial_replays: partialReplays.length,
    back_ms_from_own_close: { p50: percentile(backMs, 50), max: Math.max(...backMs) },
    new_hello_ms_from_own_close: { p50: percentile(helloMs, 50), max: Math.max(...helloMs) },
    first_close_after_kill_ms: Math.min(...onVictim.map((r) => closeOf(r)!.ts)) - killedAt,
    closes_before_kill: work.recorders.reduce((n, r) => n + closesBefore.get(r)!, 0),
    resume_claims_missed: claimsMissed,
    posts_created: stats.created,
    posts_failed: stats.failed,
    latency_ms: report.latencyMs,
    totals: report.totals,
  });

  expect(stats.created).toBeGreaterThan(0);
  expect(partialReplays.map((r) => r.label)).toEqual([]);
  for (const r of renewed) {
    // The resync signal as the stock client takes it: a new hello, reported as missed events.
    expect(r.missedReports, r.label).toBeGreaterThanOrEqual(1);
    expect(byUser.get(r.userId)!.missing, r.label).toEqual([]);
  }
  for (const r of kept) expect(byUser.get(r.userId)!.missing, r.label).toEqual([]);
  // Untouched: no close and no hello since the kill, nothing missing or excused.
  for (const r of others) {
    expect(r.closes.slice(closesBefore.get(r)), r.label).toEqual([]);
    expect(r.hellos.slice(hellosBefore.get(r)), r.label).toEqual([]);
    expect(byUser.get(r.userId)!.missing, r.label).toEqual([]);
    expect(byUser.get(r.userId)!.resynced, r.label).toEqual([]);
  }
  expect(report.totals).toMatchObject({ missing: 0, duplicates: 0, outOfOrder: 0, leaked: 0, seqGaps: 0 });
  expect(report.ok).toBe(true);
}, 300_000);
