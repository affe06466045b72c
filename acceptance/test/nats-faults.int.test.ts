/**
 * NATS failures under the workload, each on its own and restored at its end, on the cluster's
 * three NATS nodes (the event stream and KV buckets at R3):
 * - SIGKILL of the node a gateway is connected to (then a restart): that gateway is not ready
 *   while disconnected, reconnects to another node and reads back from the stream what it
 *   missed meanwhile;
 * - SIGSTOP of all three for 20 s, then SIGCONT: the connections stay up (the client's pings
 *   need longer to notice), so only the canary round trip sees the silence: every gateway goes
 *   not ready, and reads the silence back from the stream once the canary is heard again;
 * - SIGKILL of all three, then a restart on the same ports and stores: every gateway is
 *   disconnected, reconnects, and reads back.
 * Posts made during an outage may fail (HAProxy takes the not-ready gateways out of its pool);
 * what PostgreSQL committed is the truth, and the posts outbox relays it once NATS is back.
 * Each ends with every committed event delivered exactly once to every member, in order, and
 * with no client made to resync (a new connection_id and hello, after a close with 4505): the
 * event stream held every event of each outage (R3 on file storage: one node lost leaves two
 * copies, a pause loses nothing, and a SIGKILL keeps what each node wrote to its store), so
 * each gateway that lost NATS reads the outage back, retrying while the stream elects a leader.
 * The faults strike right after the clients connected: a read-back reaching back before a
 * client's hello must not hand it what was published before it.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  startCluster,
  startFaultProxy,
  waitFor,
  type Cluster,
  type ClusterGateway,
  type FaultProxy,
  type LedgerReport,
  type Workload,
} from "@switchboard/testkit";
import { clusterSize, figure, loadEnv, startLoad } from "./load.js";
import { countsSince, recoveryCounts, timelineText, watchReadiness, type RecoveryCounts, type ReadinessWatch } from "./gateway-ops.js";

let cluster: Cluster;
let work: Workload;
/** The third gateway reaches NATS (node 0) only through this proxy, so it can be kept away longer. */
let proxy: FaultProxy;
let behindProxy: ClusterGateway;

beforeAll(async () => {
  // The nodes do not advertise each other, so the gateway behind the proxy cannot reconnect around it.
  cluster = await startCluster({ size: clusterSize, env: loadEnv, topology: { gateways: 2 }, postgres: "private", natsNoAdvertise: true });
  proxy = await startFaultProxy({ target: `127.0.0.1:${cluster.nats.nodes[0]!.port}` });
  behindProxy = await cluster.gateways.add({ env: { SB_NATS_URL: `nats://${proxy.address}` } });
  work = await startLoad(cluster);
}, 180_000);

afterAll(async () => {
  await work?.stop();
  await cluster?.stop();
  await proxy?.stop();
}, 120_000);

/** The NATS node a gateway's connection is on now (from each node's /connz), or -1. */
async function nodeOf(g: ClusterGateway): Promise<number> {
  const mine = new RegExp(`${g.name}(?![0-9])`);
  for (const [i, port] of cluster.nats.monitorPorts.entries()) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/connz?limit=1024`, { signal: AbortSignal.timeout(2_000) });
      const body = (await r.json()) as { connections?: { name?: string }[] };
      if ((body.connections ?? []).some((c) => c.name !== undefined && mine.test(c.name))) return i;
    } catch {
      // a node down: not this one
    }
  }
  return -1;
}

/** Times a gateway logged losing and regaining NATS (its readiness follows them), from `t0` on. */
function natsLogTimes(g: ClusterGateway, t0: number): { disconnected: number[]; reconnected: number[] } {
  const at = (l: Record<string, unknown>): number => (typeof l.time === "number" ? l.time : Date.parse(String(l.time)));
  const since = g.process.logs.filter((l) => at(l) >= t0);
  return {
    disconnected: since.filter((l) => l.msg === "nats disconnected").map((l) => at(l) - t0),
    reconnected: since.filter((l) => l.msg === "nats reconnected").map((l) => at(l) - t0),
  };
}

/** Whether a hello from index `from` on carried another connection id than the one before it. */
function newConnectionIdSince(hellos: readonly { readonly connectionId: string }[], from: number): boolean {
  for (let j = Math.max(1, from); j < hellos.length; j++) if (hellos[j]!.connectionId !== hellos[j - 1]!.connectionId) return true;
  return false;
}

/** The warnings and errors a gateway logged from `t0` on (what it says about the outage), at most 20. */
function warnings(g: ClusterGateway, t0: number): string[] {
  return g.process.logs
    .filter((l) => (l.level === "warn" || l.level === "error" || l.level === 40 || l.level === 50) && Date.parse(String(l.time)) >= t0)
    .map((l) => {
      const err = l.err as { message?: string } | undefined;
      return `+${Date.parse(String(l.time)) - t0}ms ${String(l.msg)}${err?.message ? `: ${err.message}` : ""}`;
    })
    .slice(0, 20);
}

/** Distinct events the clients received after `t` (Unix ms). */
function eventsReceivedSince(t: number): number {
  const ids = new Set<string>();
  for (const r of work.recorders) for (const e of r.events) if (e.recvTs > t && e.identity) ids.add(e.identity.id);
  return ids.size;
}

interface FaultRun {
  readonly report: LedgerReport;
  readonly watches: readonly ReadinessWatch[];
  /** Per gateway, the recovery counters' change over the run. */
  readonly counts: readonly RecoveryCounts[];
  /** Clients given a new connection id during the run. */
  readonly resyncedClients: readonly string[];
  readonly faultAt: number;
  readonly restoredAt: number;
  readonly created: number;
  readonly failed: number;
  /** From the restore until every gateway answered ready, and until the ledger passed. */
  readonly readyMs: number;
  readonly ledgerMs: number;
}

/**
 * Posts flow, the fault strikes and is restored (`fault` resolves with the restore's time),
 * every gateway is ready again and posts flow again, then posting stops and the ledger is
 * checked until it passes. Missing events written before a new connection id's hello count as
 * resynced (the checks below make sure each one was explicit).
 */
async function underFault(fault: () => Promise<number>): Promise<FaultRun> {
  const gws = [...cluster.gateways.list];
  await cluster.nats.waitHealthy(60_000);
  const watches = gws.map((g) => watchReadiness(g, 50));
  const before = await Promise.all(gws.map(recoveryCounts));
  const hellosBefore = work.recorders.map((r) => r.hellos.length);
  const stats0 = work.stats;
  try {
    await waitFor(() => watches.every((w) => w.ready), { timeoutMs: 30_000, what: "every gateway ready before the fault" });
    work.startPosting();
    // Posts flow. The first fault strikes within the gateways' read-back margin
    // (SB_GATEWAY_RECOVERY_MARGIN_MS, 5 s) of the clients' hellos: the read-back reaches back
    // before them and must not hand them their own membership events (the ledger's leaks).
    await waitFor(() => work.stats.created >= stats0.created + 20, {
      timeoutMs: 30_000,
      what: "posts flowing before the fault",
    });
    const faultAt = Date.now();
    const restoredAt = await fault();
    await waitFor(() => watches.every((w) => w.ready), { timeoutMs: 60_000, intervalMs: 50, what: "every gateway ready after the restore" }).catch(
      (e: unknown) => {
        for (const [i, w] of watches.entries())
          console.log(`${w.gateway}: ${timelineText(w, faultAt).join(", ")}; ${JSON.stringify(warnings(gws[i]!, faultAt))}`);
        throw e;
      },
    );
    const readyMs = Date.now() - restoredAt;
    const created = work.stats.created;
    await waitFor(() => work.stats.created >= created + 20, { timeoutMs: 60_000, what: "posts flowing after the restore" });
    const stats = await work.stopPosting();
    const report = await work.settle({ excuseResynced: true, allowedExtraHellos: 1_000, timeoutMs: 60_000 });
    const ledgerMs = Date.now() - restoredAt;
    if (!report.ok) console.log(report.text);
    const after = await Promise.all(gws.map(recoveryCounts));
    return {
      report,
      watches,
      counts: after.map((a, i) => countsSince(before[i]!, a)),
      resyncedClients: work.recorders.filter((r, i) => newConnectionIdSince(r.hellos, hellosBefore[i]!)).map((r) => r.label),
      faultAt,
      restoredAt,
      created: stats.created - stats0.created,
      failed: stats.failed - stats0.failed,
      readyMs,
      ledgerMs,
    };
  } finally {
    await work.stopPosting();
    for (const w of watches) w.stop();
  }
}

/**
 * The assertions every fault ends with: completeness, order, no leak, and no resync. The stream
 * held every event of the outage, so a resync (a gateway closing with 4505, a client given a
 * new connection id, events excused as reloaded) would be a needless reload of every client
 * that lived through it.
 */
function expectNothingLost(run: FaultRun): void {
  const { report } = run;
  expect(run.created).toBeGreaterThan(0);
  expect(report.totals).toMatchObject({ missing: 0, resynced: 0, duplicates: 0, outOfOrder: 0, leaked: 0, seqGaps: 0 });
  for (const c of run.counts) expect(c).toMatchObject({ outageResyncs: 0, resyncCloses: 0, gapsUnrepaired: 0 });
  expect(run.resyncedClients).toEqual([]);
  expect(work.recorders.reduce((n, r) => n + r.missedReports, 0)).toBe(0);
  expect(report.ok).toBe(true);
}

function figures(what: string, run: FaultRun, extra: Record<string, unknown> = {}): void {
  figure(what, {
    clients: work.recorders.length,
    posts_created: run.created,
    posts_failed: run.failed,
    fault_ms: run.restoredAt - run.faultAt,
    ready_after_restore_ms: run.readyMs,
    ledger_ok_after_restore_ms: run.ledgerMs,
    readiness: Object.fromEntries(run.watches.map((w) => [w.gateway, timelineText(w, run.faultAt)])),
    recovery: Object.fromEntries(run.watches.map((w, i) => [w.gateway, run.counts[i]])),
    resynced_clients: run.resyncedClients.length,
    warnings: Object.fromEntries(cluster.gateways.list.map((g) => [g.name, warnings(g, run.faultAt)])),
    latency_ms: run.report.latencyMs,
    longest_down_ms: run.report.longestDownMs,
    totals: run.report.totals,
    ...extra,
  });
}

it("SIGKILL of the NATS node a gateway is on: it reconnects to another, reads back, and nothing is missing", async () => {
  // A gateway that knows every node (the one behind the proxy has only node 0, and would wait for its restart).
  const target = cluster.gateways.list.find((g) => g !== behindProxy)!;
  const node = await nodeOf(target);
  expect(node).toBeGreaterThanOrEqual(0);
  const onIt = [] as ClusterGateway[];
  for (const g of cluster.gateways.list) if ((await nodeOf(g)) === node) onIt.push(g);
  const movesOver = onIt.filter((g) => g !== behindProxy);
  let killedAt = 0;
  let nodeBackMs = 0;
  const run = await underFault(async () => {
    killedAt = Date.now();
    await cluster.nats.nodes[node]!.kill();
    try {
      // Every gateway on it noticed and came back on another node, while posts flowed.
      await waitFor(() => movesOver.every((g) => natsLogTimes(g, killedAt).reconnected.length > 0), {
        timeoutMs: 30_000,
        what: "the gateways on the killed node to reconnect elsewhere",
      });
      const created = work.stats.created;
      await waitFor(() => work.stats.created >= created + 10, { timeoutMs: 30_000, what: "posts flowing with a node down" });
    } finally {
      await cluster.nats.nodes[node]!.restart();
    }
    const restoredAt = Date.now();
    await cluster.nats.waitHealthy(60_000);
    nodeBackMs = Date.now() - restoredAt;
    return restoredAt;
  });
  const logs = Object.fromEntries(onIt.map((g) => [g.name, natsLogTimes(g, killedAt)]));
  figures("nats: SIGKILL of one node of three", run, { node, gateways_on_it: onIt.map((g) => g.name), nats_log_ms: logs, node_healthy_ms: nodeBackMs });
  for (const g of onIt) {
    // Readiness follows the connection: false at the disconnect, true at the reconnect. The
    // window can be shorter than the /readyz poll (a reconnect to a live node takes a few ms),
    // so the gateway's own log of both is the timeline's evidence; the poll must end ready.
    expect(logs[g.name]!.disconnected.length).toBeGreaterThan(0);
    expect(logs[g.name]!.reconnected.length).toBeGreaterThan(0);
    const i = cluster.gateways.list.indexOf(g);
    // What the disconnection may have missed was read back from the stream (R3: two nodes kept it).
    expect(run.counts[i]!.readBackStream).toBeGreaterThan(0);
  }
  expect(run.watches.every((w) => w.ready)).toBe(true);
  expectNothingLost(run);
});

it("SIGSTOP of all three NATS nodes for 20 s, then SIGCONT: the canary sees it, readiness goes false and back, nothing is missing", async () => {
  const pauseMs = 20_000;
  const run = await underFault(async () => {
    const pausedAt = Date.now();
    for (const n of cluster.nats.nodes) n.signal("SIGSTOP");
    try {
      await waitFor(() => Date.now() - pausedAt >= pauseMs, { timeoutMs: pauseMs + 5_000, intervalMs: 100, what: "the 20 s pause" });
    } finally {
      for (const n of cluster.nats.nodes) n.signal("SIGCONT");
    }
    return Date.now();
  });
  figures("nats: SIGSTOP of all three for 20 s", run, { pause_ms: pauseMs });
  for (const w of run.watches) {
    // Not ready during the pause, because of the canary (the connection itself stayed up).
    expect(w.notReadyAt).toBeGreaterThan(run.faultAt);
    expect(w.notReadyAt).toBeLessThan(run.restoredAt);
    expect([...w.reasons]).toContain("nats-canary not ready");
    expect(w.readyAgainAt).toBeGreaterThanOrEqual(run.restoredAt);
  }
  for (const c of run.counts) {
    expect(c.canaryMisses).toBeGreaterThan(0);
    // The silence was read back from the stream.
    expect(c.readBackStream).toBeGreaterThan(0);
  }
  expectNothingLost(run);
});

it("SIGKILL of all three NATS nodes, then a restart on the same ports and stores: readiness goes false and back, nothing is missing", async () => {
  let downMs = 0;
  let natsBackAt = 0;
  // When the restart began: a gateway may be back on the first node up, before the others are.
  let restartAt = 0;
  let heldBackMs = 0;
  const run = await underFault(async () => {
    const killedAt = Date.now();
    try {
      await Promise.all(cluster.nats.nodes.map((n) => n.kill()));
      // Every gateway saw the loss before the restart.
      await waitFor(() => cluster.gateways.list.every((g) => natsLogTimes(g, killedAt).disconnected.length > 0), {
        timeoutMs: 20_000,
        what: "every gateway to lose NATS",
      });
      // The gateway behind the proxy stays away after the restart: what is published then
      // (the outbox's backlog, new posts) reaches its clients only through its read-back.
      proxy.reset();
      await waitFor(() => Date.now() - killedAt >= 3_000, { timeoutMs: 10_000, intervalMs: 100, what: "a few seconds of outage" });
    } finally {
      restartAt = Date.now();
      await Promise.all(cluster.nats.nodes.map((n) => n.restart()));
    }
    natsBackAt = Date.now();
    downMs = natsBackAt - killedAt;
    try {
      await cluster.nats.waitHealthy(60_000);
      // Committed is not yet published (the outbox relays once its NATS connection is back):
      // wait until the other gateways' clients got events published since the restart.
      await waitFor(() => eventsReceivedSince(natsBackAt) >= 10, { timeoutMs: 60_000, what: "events published while one gateway is still away" });
    } finally {
      proxy.restore();
    }
    const restoredAt = Date.now();
    heldBackMs = restoredAt - natsBackAt;
    return restoredAt;
  });
  figures("nats: SIGKILL of all three, then a restart", run, {
    down_ms: downMs,
    behind_proxy: behindProxy.name,
    behind_proxy_kept_away_after_restart_ms: heldBackMs,
    // The restore above is the proxy's; the others' ready time counts from the NATS restart.
    ready_after_nats_restart_ms: Object.fromEntries(run.watches.map((w) => [w.gateway, w.readyAgainAt - natsBackAt])),
  });
  for (const w of run.watches) {
    expect(w.notReadyAt).toBeGreaterThan(run.faultAt);
    expect(w.notReadyAt).toBeLessThan(restartAt);
    expect([...w.reasons]).toContain("nats not ready");
    expect(w.readyAgainAt).toBeGreaterThanOrEqual(w.gateway === behindProxy.name ? run.restoredAt : restartAt);
  }
  // The gateway kept away after the restart got what was published meanwhile only by reading it
  // back: from the stream, or from PostgreSQL for what the stream lacks (Debian's nats-server has
  // no sync setting, so a SIGKILL of every node may cost the stream its last writes, and its
  // leader may still be elected when the gateway reads). The others may have had it all live.
  const away = run.counts[cluster.gateways.list.findIndex((g) => g.name === behindProxy.name)]!;
  expect(away.readBackStream + away.fromDatabase).toBeGreaterThan(0);
  expectNothingLost(run);
});
