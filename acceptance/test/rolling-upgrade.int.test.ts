/**
 * A rolling upgrade: the cluster starts with gateways of an older build (a real one, the tree
 * of a git commit built under .tmp/builds/), and each is replaced by a gateway of this build,
 * one after another, as a Deployment's rollout does it. The old gateways' clients resume into
 * the new ones across the resume protocol's versions (contracts/resume.ts). The services are
 * this build's. While posts flow, every client must end with every committed event exactly
 * once, its seq consecutive across each resume, with no new hello and no missed-event report.
 *
 * SB_UPGRADE_FROM names the older commit (upgradeBaseCommit). make test builds it ahead, in the
 * background (scripts/build-upgrade-base.mjs); otherwise this test does. Without git history
 * (a shallow clone) the test fails and says so.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildAtCommit, repoRoot, startCluster, upgradeBaseCommit, type Cluster, type CommitBuild, type Workload } from "@switchboard/testkit";
import { clusterSize, figure, loadEnv, startLoad } from "./load.js";

const from = upgradeBaseCommit();

let old: CommitBuild;
let cluster: Cluster;
let work: Workload;

/** Sums a counter's samples with a given label on a gateway's /metrics. */
async function counter(opsPort: number, name: string, label: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  let n = 0;
  for (const line of text.split("\n")) if (line.startsWith(name) && line.includes(label)) n += Number(line.slice(line.lastIndexOf(" ") + 1));
  return n;
}

beforeAll(async () => {
  old = buildAtCommit(from);
  // A PostgreSQL server of its own: the cluster's pools do not compete for the shared server's connections.
  // The older build knows no NATS credentials: it connects as the gateway user's transitional stand-in.
  cluster = await startCluster({
    size: clusterSize,
    env: loadEnv,
    topology: { gateways: 3 },
    postgres: "private",
    gatewayRoot: old.root,
    natsAnonymousAs: "gateway",
  });
  work = await startLoad(cluster);
}, 600_000);

afterAll(async () => {
  await work?.stop();
  await cluster?.stop();
}, 120_000);

it("loses nothing, duplicates nothing and needs no resync while the older build's gateways are replaced by this build's", async () => {
  const oldPids = cluster.gateways.list.map((g) => g.process.pid);
  const cached = buildAtCommit(from);
  work.startPosting();
  const started = Date.now();
  for (let i = 0; i < cluster.gateways.list.length; i++) await cluster.gateways.replace(i, { root: repoRoot() });
  const rollMs = Date.now() - started;
  const stats = await work.stopPosting();
  const report = await work.settle({ allowedExtraHellos: 0, allowedDuplicatesRaw: 0, timeoutMs: 60_000 });
  if (!report.ok) console.log(report.text);

  // The new build's gateways claimed connections held by the old build's (the cross-version resume).
  let claimed = 0;
  for (const g of cluster.gateways.list) claimed += await counter(g.opsPort, "sb_gateway_resume_claims_total", 'result="claimed"');
  const drained = work.recorders.filter((r) => r.closes.some((c) => c.socketCode === 4000)).length;
  figure("rolling upgrade", {
    from: old.commit.slice(0, 7),
    build_ms_uncached: old.cached ? undefined : old.ms,
    build_ms_cached: cached.ms,
    clients: work.recorders.length,
    drained,
    claimed_by_new_build: claimed,
    posts_created: stats.created,
    posts_failed: stats.failed,
    roll_ms: rollMs,
    longest_down_ms: report.longestDownMs,
    latency_ms: report.latencyMs,
    totals: report.totals,
  });
  expect(cached.cached).toBe(true);
  expect(cluster.gateways.list.map((g) => g.process.pid).filter((p) => oldPids.includes(p))).toEqual([]);
  expect(drained).toBe(work.recorders.length);
  expect(claimed).toBeGreaterThan(0);
  expect(work.recorders.flatMap((r) => r.closes.map((c) => c.socketCode)).filter((c) => c !== 4000)).toEqual([]);
  expect(stats.created).toBeGreaterThan(0);
  expect(report.totals).toMatchObject({ missing: 0, resynced: 0, duplicatesRaw: 0, duplicates: 0, outOfOrder: 0, leaked: 0, seqGaps: 0, extraHellos: 0 });
  expect(work.recorders.reduce((n, r) => n + r.missedReports, 0)).toBe(0);
  expect(report.ok).toBe(true);
}, 300_000);
