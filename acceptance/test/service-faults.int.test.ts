/**
 * Service and database faults while posts flow, on a cluster with a PostgreSQL server of its
 * own: SIGKILL of the busiest posts replica, then its restart; and a restart of PostgreSQL
 * itself mid-stream. Calls that fail during a fault are allowed (the caller sees the error);
 * a post PostgreSQL committed is owed to every member all the same. The truth is what
 * PostgreSQL committed (the ledger tap on the outbox): every member must end with each of those
 * events exactly once, in order, with no resync and no new hello.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startCluster, waitFor, startWorkload, type Cluster, type LedgerReport, type PostStats, type Workload } from "@switchboard/testkit";
import { clusterSize, figure, load } from "./load.js";

let cluster: Cluster;
let work: Workload;

beforeAll(async () => {
  cluster = await startCluster({ size: clusterSize, postgres: "private" });
  work = await startWorkload({ url: cluster.url, databaseUrl: cluster.databaseUrl, postsAddr: cluster.addrs.posts, ...load });
}, 180_000);

afterAll(async () => {
  await work?.stop();
  await cluster?.stop();
}, 120_000);

/** Waits until a post returns after `since` (a figure: the time the posting path took to recover). */
async function recovered(since: PostStats, timeoutMs: number): Promise<void> {
  await waitFor(() => work.stats.created > since.created, { timeoutMs, intervalMs: 20, what: "a post to succeed again" });
}

function expectClean(report: LedgerReport): void {
  if (!report.ok) console.log(report.text);
  expect(report.totals).toMatchObject({ missing: 0, resynced: 0, duplicates: 0, outOfOrder: 0, leaked: 0, seqGaps: 0, extraHellos: 0 });
  expect(work.recorders.reduce((n, r) => n + r.missedReports, 0)).toBe(0);
  expect(report.ok).toBe(true);
}

/** Posts for a while, so the fault lands mid-stream. */
async function posting(n: number): Promise<PostStats> {
  const before = work.stats;
  work.startPosting();
  await waitFor(() => work.stats.created >= before.created + n, { timeoutMs: 30_000, intervalMs: 20, what: `${n} posts to go through` });
  return work.stats;
}

it("delivers every committed post exactly once while the busiest posts replica is SIGKILLed and restarted", async () => {
  const before = await posting(10);
  const state = await cluster.haproxy.serviceState("posts");
  const busiest = state.reduce((b, s, i) => (s.sessions > state[b]!.sessions ? i : b), 0);
  const victim = cluster.services.posts[busiest]!;
  const killedAt = Date.now();
  await victim.kill();
  const atKill = work.stats;
  await recovered(atKill, 30_000);
  const recoverMs = Date.now() - killedAt;
  await posting(10);
  await victim.restart();
  await waitFor(async () => (await cluster.haproxy.serviceState("posts")).every((r) => r.status.startsWith("UP")), {
    timeoutMs: 30_000,
    intervalMs: 50,
    what: "haproxy to mark the restarted posts replica up",
  });
  await posting(10);
  const stats = await work.stopPosting();
  const report = await work.settle({ allowedExtraHellos: 0, timeoutMs: 60_000 });
  const truth = await work.tap.truth();
  figure("posts replica SIGKILL", {
    clients: work.recorders.length,
    killed: victim.name,
    sessions_before: state.map((s) => s.sessions),
    posts_created: stats.created - before.created,
    posts_failed: stats.failed - before.failed,
    last_error: stats.lastError,
    committed_events_so_far: truth.events.length,
    recover_ms: recoverMs,
    latency_ms: report.latencyMs,
    totals: report.totals,
  });
  expect(stats.created).toBeGreaterThan(before.created);
  expectClean(report);
}, 180_000);

it("delivers every committed post exactly once while PostgreSQL is killed and started again mid-stream", async () => {
  const pg = cluster.postgres!;
  // A lost database connection is an error the services answer, not a reason to exit.
  const exited: string[] = [];
  for (const r of Object.values(cluster.services).flat()) void r.process.exited.then(() => exited.push(r.name));
  const before = await posting(10);
  const faultAt = Date.now();
  // SIGKILL of the postmaster and its backends: crash recovery on the next start, and
  // transactions in flight lost unless committed.
  await pg.kill();
  const downStats = await waitFor(() => (work.stats.failed > before.failed ? work.stats : undefined), {
    timeoutMs: 30_000,
    intervalMs: 20,
    what: "a post to fail while PostgreSQL is down",
  });
  const startAt = Date.now();
  await pg.start();
  const downMs = Date.now() - faultAt;
  await recovered(downStats, 60_000);
  const recoverMs = Date.now() - startAt;
  // A clean restart too (fast shutdown: sessions cut, a checkpoint).
  await posting(10);
  const haltAt = Date.now();
  await pg.restart();
  const restartMs = Date.now() - haltAt;
  const atRestart = work.stats;
  await recovered(atRestart, 30_000);
  const recover2Ms = Date.now() - haltAt;
  await posting(10);
  const stats = await work.stopPosting();
  const report = await work.settle({ allowedExtraHellos: 0, timeoutMs: 90_000 });
  const truth = await work.tap.truth();
  figure("PostgreSQL kill and restart", {
    clients: work.recorders.length,
    posts_created: stats.created - before.created,
    posts_failed: stats.failed - before.failed,
    last_error: stats.lastError,
    committed_events_so_far: truth.events.length,
    down_ms: downMs,
    recover_after_start_ms: recoverMs,
    clean_restart_ms: restartMs,
    recover_after_clean_restart_ms: recover2Ms,
    latency_ms: report.latencyMs,
    totals: report.totals,
  });
  expect(stats.failed).toBeGreaterThan(before.failed);
  expect(exited).toEqual([]);
  expectClean(report);
}, 240_000);
