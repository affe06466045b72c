/**
 * Rebalancing after a scale-out: two gateways behind HAProxy hold every client, then two more
 * are added to HAProxy at runtime, as a Deployment scaling from 2 to 4 replicas does. New
 * connections alone would leave the old gateways holding everything for as long as the
 * sockets live; instead each overloaded gateway closes a jittered share of its excess with
 * 4000 and those clients resume on the new ones (HAProxy's leastconn), through the drain's
 * cross-gateway resume. Within 2 minutes of the new gateways being ready no gateway may hold
 * more than 1.3 × the mean, and while posts flow every client must end with every committed
 * event exactly once, its seq consecutive across each move, with no new hello.
 *
 * `make test`: 300 clients, rebalancing timings shortened so the file stays short; `make chaos`
 * (SB_CHAOS_SIZE=full): 2,000 clients and the gateway's default timings.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startCluster, startWorkload, waitFor, type Cluster, type Workload } from "@switchboard/testkit";
import { gatewayMetrics, metricSum, socketsOn } from "./gateway-ops.js";
import { clusterSize, figure, loadEnv } from "./load.js";

const full = clusterSize === "full";
const CLIENTS = full ? 2_000 : 300;
/** The acceptance bound: max/mean connections per gateway, and how soon after the new ones are ready. */
const MAX_OVER_MEAN = 1.3;
const WITHIN_MS = 120_000;
/** Test size: a round every few seconds instead of every 20 (the defaults, used at full size). */
const rebalanceEnv: Readonly<Record<string, string>> = full
  ? {}
  : {
      SB_GATEWAY_REBALANCE_REPORT_MS: "500",
      SB_GATEWAY_REBALANCE_SUSTAIN_MS: "1500",
      SB_GATEWAY_REBALANCE_COOLDOWN_MS: "3000",
      SB_GATEWAY_REBALANCE_SPREAD_MS: "1500",
    };

let cluster: Cluster;
let work: Workload;

beforeAll(async () => {
  cluster = await startCluster({ size: clusterSize, env: loadEnv, gatewayEnv: rebalanceEnv, topology: { gateways: 2 } });
  work = await startWorkload({
    url: cluster.url,
    databaseUrl: cluster.databaseUrl,
    postsAddr: cluster.addrs.posts,
    clients: CLIENTS,
    channels: full ? 40 : 6,
    membersPerChannel: 50,
    postsPerSecond: full ? 50 : 10,
    everyonePerSecond: 1,
  });
}, 240_000);

afterAll(async () => {
  await work?.stop();
  await cluster?.stop();
}, 120_000);

async function spread(): Promise<{ sockets: number[]; total: number; ratio: number }> {
  const sockets = await Promise.all(cluster.gateways.list.map((g) => socketsOn(g)));
  const total = sockets.reduce((a, b) => a + b, 0);
  return { sockets, total, ratio: total > 0 ? Math.max(...sockets) / (total / sockets.length) : Infinity };
}

it("spreads 2 gateways' clients over 4 within 2 minutes of the new ones being ready, losing and repeating nothing", async () => {
  // Every client connected (a busy machine may still be reconnecting a few of them).
  const before = await waitFor(
    async () => {
      const s = await spread();
      return s.total === CLIENTS && s;
    },
    { timeoutMs: 60_000, what: `all ${String(CLIENTS)} clients on the two gateways` },
  );
  work.startPosting();
  await Promise.all([cluster.gateways.add(), cluster.gateways.add()]);
  const readyAt = Date.now();
  expect(cluster.gateways.list).toHaveLength(4);

  // Balanced: every client connected, and no gateway above 1.3 × the mean.
  let last = await spread();
  const samples: string[] = [];
  await waitFor(
    async () => {
      last = await spread();
      samples.push(`+${Date.now() - readyAt}ms ${last.sockets.join("/")}`);
      return last.total >= CLIENTS && last.ratio <= MAX_OVER_MEAN;
    },
    { timeoutMs: WITHIN_MS, intervalMs: 500, what: `max/mean sockets per gateway ≤ ${MAX_OVER_MEAN}` },
    // Not balanced in time: the assertions below say how far it got.
  ).catch(() => undefined);
  const balancedMs = Date.now() - readyAt;
  const balanced = last;

  const stats = await work.stopPosting();
  const report = await work.settle({ allowedExtraHellos: 0, allowedDuplicatesRaw: 0, timeoutMs: 60_000 });
  if (!report.ok) console.log(report.text);
  const after = await spread();
  const metrics = await Promise.all(cluster.gateways.list.map((g) => gatewayMetrics(g.opsPort)));
  const shed = metrics.map((m) => metricSum(m, "sb_gateway_rebalance_closes_total"));
  const moved = work.recorders.filter((r) => r.closes.length > 0).length;
  figure("rebalance after scale-out", {
    clients: CLIENTS,
    before: before.sockets,
    balanced_ms: balancedMs,
    balanced: balanced.sockets,
    ratio: Math.round(balanced.ratio * 100) / 100,
    after_settle: after.sockets,
    rebalance_closes: shed,
    clients_moved: moved,
    posts_created: stats.created,
    posts_failed: stats.failed,
    latency_ms: report.latencyMs,
    totals: report.totals,
  });

  expect(balanced.ratio, samples.slice(-5).join("; ")).toBeLessThanOrEqual(MAX_OVER_MEAN);
  expect(balancedMs).toBeLessThan(WITHIN_MS);
  // Only the old gateways shed, and every close was the drain's 4000.
  expect(shed.slice(2)).toEqual([0, 0]);
  expect(shed.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  expect(work.recorders.flatMap((r) => r.closes.map((c) => c.socketCode)).filter((c) => c !== 4000)).toEqual([]);
  // Still balanced once the ledger settled: no round moved it back out.
  expect(after.ratio).toBeLessThanOrEqual(MAX_OVER_MEAN);
  expect(stats.created).toBeGreaterThan(0);
  expect(report.totals).toMatchObject({ missing: 0, resynced: 0, duplicatesRaw: 0, duplicates: 0, outOfOrder: 0, leaked: 0, seqGaps: 0, extraHellos: 0 });
  expect(work.recorders.reduce((n, r) => n + r.missedReports, 0)).toBe(0);
  expect(report.ok).toBe(true);
}, 300_000);
