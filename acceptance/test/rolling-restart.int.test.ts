/**
 * A rolling restart of every gateway behind HAProxy, one after another, as a Deployment's
 * rollout does it: a new gateway first, then SIGTERM to an old one, which drains (not ready,
 * pre-stop, sockets closed with 4000 in batches, buffers handed over to whichever gateway each
 * client lands on). While posts flow, every client must end with every committed event exactly
 * once, its seq consecutive across each resume, with no new hello and no missed-event report.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startCluster, type Cluster, type Workload } from "@switchboard/testkit";
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

it("loses nothing, duplicates nothing and needs no resync while all three gateways are replaced", async () => {
  work.startPosting();
  const started = Date.now();
  const rolled: string[] = [];
  for (let i = 0; i < cluster.gateways.list.length; i++) {
    const old = cluster.gateways.list[i]!.name;
    await cluster.gateways.replace(i);
    rolled.push(old);
  }
  const rollMs = Date.now() - started;
  const stats = await work.stopPosting();
  const report = await work.settle({ allowedExtraHellos: 0, allowedDuplicatesRaw: 0, timeoutMs: 60_000 });
  if (!report.ok) console.log(report.text);

  // Every client lived through at least one drain (the restart reached them all).
  const drained = work.recorders.filter((r) => r.closes.some((c) => c.socketCode === 4000)).length;
  figure("rolling restart", {
    clients: work.recorders.length,
    drained,
    posts_created: stats.created,
    posts_failed: stats.failed,
    roll_ms: rollMs,
    longest_down_ms: report.longestDownMs,
    latency_ms: report.latencyMs,
    totals: report.totals,
  });
  expect(rolled).toHaveLength(3);
  expect(drained).toBe(work.recorders.length);
  // Each client's first reconnect after a drain landed on a gateway that took it: no socket
  // closed other than by a drain (a draining pod still in the pool would refuse or drop it).
  expect(work.recorders.flatMap((r) => r.closes.map((c) => c.socketCode)).filter((c) => c !== 4000)).toEqual([]);
  expect(stats.created).toBeGreaterThan(0);
  expect(report.totals).toMatchObject({ missing: 0, resynced: 0, duplicatesRaw: 0, duplicates: 0, outOfOrder: 0, leaked: 0, seqGaps: 0, extraHellos: 0 });
  expect(work.recorders.reduce((n, r) => n + r.missedReports, 0)).toBe(0);
  expect(report.ok).toBe(true);
}, 300_000);
