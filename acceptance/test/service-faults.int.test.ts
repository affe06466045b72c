/**
 * Service and database faults while posts flow, on a cluster with a PostgreSQL server of its
 * own: SIGKILL of the busiest posts replica, then its restart; and a restart of PostgreSQL
 * itself mid-stream. Calls that fail during a fault are allowed (the caller sees the error);
 * a post PostgreSQL committed is owed to every member all the same. The truth is what
 * PostgreSQL committed (the ledger tap on the outbox): every member must end with each of those
 * events exactly once, in order, with no resync and no new hello.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startCluster, waitFor, type Cluster, type LedgerReport, type PostStats, type Workload } from "@switchboard/testkit";
import { clusterSize, figure, loadEnv, startLoad } from "./load.js";

let cluster: Cluster;
let work: Workload;

beforeAll(async () => {
  cluster = await startCluster({ size: clusterSize, env: loadEnv, postgres: "private" });
  work = await startLoad(cluster);
}, 180_000);

afterAll(async () => {
  await work?.stop();
  await cluster?.stop();
}, 120_000);

/**
 * Waits until a post returns after `since` (a figure: the time the posting path took to
 * recover); fails at once, saying why, if `broken` names something that cannot recover.
 */
async function recovered(since: PostStats, timeoutMs: number, broken: () => string | undefined = () => undefined): Promise<void> {
  await waitFor(() => broken() !== undefined || work.stats.created > since.created, { timeoutMs, intervalMs: 20, what: "a post to succeed again" });
  const why = broken();
  if (why) throw new Error(`posting cannot recover: ${why}`);
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

/** Whether a service replica relays the outbox now (its sb_outbox_leader gauge). */
async function relaysOutbox(opsPort: number): Promise<boolean> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  return /^sb_outbox_leader(\{[^}]*\})? 1$/m.test(text);
}

it("delivers every committed post exactly once while the busiest posts replica is SIGKILLed, and after its restart", async () => {
  const before = await posting(10);
  // The replica holding the most connections; between equals, the one relaying the outbox, so
  // the kill also ends the relay's leadership and the other replica must take it over.
  const state = await cluster.haproxy.serviceState("posts");
  const leaders = await Promise.all(cluster.services.posts.map((r) => relaysOutbox(r.opsPort)));
  const rank = (i: number): number => state[i]!.sessions * 2 + (leaders[i] ? 1 : 0);
  const busiest = state.reduce((b, _, i) => (rank(i) > rank(b) ? i : b), 0);
  const victim = cluster.services.posts[busiest]!;
  const survivor = cluster.services.posts[1 - busiest]!;
  const killedAt = Date.now();
  await victim.kill();
  const atKill = work.stats;
  await recovered(atKill, 30_000);
  const recoverMs = Date.now() - killedAt;
  await posting(10);
  // With the victim still down: what was committed reached everyone through the survivor alone.
  const whileDown = await work.stopPosting();
  const reportDown = await work.settle({ allowedExtraHellos: 0, timeoutMs: 60_000 });
  const survivorRelays = await relaysOutbox(survivor.opsPort);
  if (!reportDown.ok) console.log(reportDown.text);

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
    killed_relay_leader: leaders[busiest],
    survivor_relays: survivorRelays,
    posts_created: stats.created - before.created,
    posts_failed: stats.failed - before.failed,
    posts_failed_while_down: whileDown.failed - before.failed,
    last_error: stats.lastError,
    committed_events_so_far: truth.events.length,
    recover_ms: recoverMs,
    latency_ms: report.latencyMs,
    totals_while_down: reportDown.totals,
    totals: report.totals,
  });
  expect(stats.created).toBeGreaterThan(before.created);
  expect(reportDown.totals).toMatchObject({ missing: 0, resynced: 0, duplicates: 0, outOfOrder: 0, leaked: 0, seqGaps: 0, extraHellos: 0 });
  expect(reportDown.ok).toBe(true);
  expectClean(report);
}, 240_000);

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
  const died = (): string | undefined => (exited.length > 0 ? `${exited.join(", ")} exited` : undefined);
  await recovered(downStats, 60_000, died);
  const recoverMs = Date.now() - startAt;
  // A clean restart too (fast shutdown: sessions cut, a checkpoint).
  await posting(10);
  const haltAt = Date.now();
  await pg.restart();
  const restartMs = Date.now() - haltAt;
  const atRestart = work.stats;
  await recovered(atRestart, 30_000, died);
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
