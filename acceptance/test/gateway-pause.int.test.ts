/**
 * A paused gateway (RELIABILITY.md T08: the gateway itself a slow consumer on NATS): SIGSTOP
 * one gateway of three for 3 s while posts flow and a publisher floods what it subscribes to,
 * then SIGCONT. While it sleeps its sockets stay open, HAProxy's check of /readyz goes
 * unanswered and takes it out of the pool, and its NATS server gives up on it as a slow
 * consumer, dropping what was published to it meanwhile. On waking it sees the disconnection,
 * reconnects, and reads the outage back from the stream (holes left in a channel's sequence
 * are repaired from the stream or posts). The promise: every client, its own included, ends
 * with every committed event once, in order, its seq consecutive, and nothing was skipped
 * silently (no client told to resync).
 *
 * Without the flood, a 3 s pause at this load costs nothing at all: the server keeps what it
 * publishes in the connection's buffers (64 MiB before it gives up), and the gateway delivers
 * it late on waking; only HAProxy notices.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { connectBus, subjects } from "@switchboard/bus";
import { sleep, startCluster, waitFor, type Cluster, type Recorder, type Workload } from "@switchboard/testkit";
import { faultMetrics, gatewayMetrics, timelineText, watchReadiness } from "./gateway-ops.js";
import { clusterSize, figure, loadEnv, startLoad } from "./load.js";

let cluster: Cluster;
let work: Workload;

/** How long the gateway sleeps. */
const PAUSE_MS = 3_000;

beforeAll(async () => {
  cluster = await startCluster({ size: clusterSize, env: loadEnv, topology: { gateways: 3 }, natsSettings: { write_deadline: WRITE_DEADLINE } });
  work = await startLoad(cluster);
}, 180_000);

afterAll(async () => {
  await work?.stop();
  await cluster?.stop();
}, 120_000);

/** The gateway a client said hello from (the stock client keeps the hello's server_hostname). */
const gatewayOf = (r: Recorder): string => (r.client as unknown as { serverHostname?: string }).serverHostname ?? "";

/** Slow consumers each NATS node counted (its /varz). */
async function natsSlowConsumers(c: Cluster): Promise<number> {
  let n = 0;
  for (const port of c.nats.monitorPorts) {
    const v = (await (await fetch(`http://127.0.0.1:${port}/varz`, { signal: AbortSignal.timeout(2_000) })).json()) as { slow_consumers?: number };
    n += v.slow_consumers ?? 0;
  }
  return n;
}

/** The gateway's NATS connection as the servers' /connz lists it: the node it is on, and its canary's subject. */
async function natsConnectionOf(c: Cluster, podName: string): Promise<{ node: number; canary: string }> {
  for (const [node, port] of c.nats.monitorPorts.entries()) {
    const z = (await (await fetch(`http://127.0.0.1:${port}/connz?subs=1&limit=4096`, { signal: AbortSignal.timeout(2_000) })).json()) as {
      connections?: { name?: string; subscriptions_list?: string[] }[];
    };
    for (const conn of z.connections ?? []) {
      if (conn.name !== `${podName}/gateway`) continue;
      for (const sub of conn.subscriptions_list ?? []) {
        const last = sub.slice(sub.lastIndexOf(".") + 1);
        try {
          if (subjects.gatewayCanary(last) === sub) return { node, canary: sub };
        } catch {
          // Not an id: not the canary.
        }
      }
    }
  }
  throw new Error(`no NATS connection of ${podName} with a canary subscription`);
}

/** 1 MiB that the canary reads as probe 0, older than any it sent: ignored. */
const FLOOD_CHUNK = new TextEncoder().encode(" ".repeat(1024 * 1024 - 1) + "0");
/**
 * nats-server drops a subscriber as a slow consumer when a write to it blocks this long (10 s by
 * default), or when 64 MiB wait for it. A write blocks once the sockets' buffers are full, so
 * with a deadline under the pause a flood of a few MiB costs the sleeping gateway its
 * connection, where 64 MiB would take the servers' flow control seconds to push on this machine.
 */
const WRITE_DEADLINE = "1s";
/** More than the loopback sockets' buffers hold, at once. */
const FLOOD_FIRST_MIB = 16;
/** At most (more than the buffers of any loopback socket add to max_pending). */
const FLOOD_MAX_MIB = 256;

it("delivers every event to every client across a 3 s SIGSTOP of one gateway, with no resync", async () => {
  const victim = cluster.gateways.list[0]!;
  const mine = work.recorders.filter((r) => gatewayOf(r) === victim.name);
  expect(mine.length).toBeGreaterThan(0);
  const before = faultMetrics(await gatewayMetrics(victim.opsPort));
  const slowBefore = await natsSlowConsumers(cluster);
  const readiness = watchReadiness(victim);
  const slot: { atMs: number; status: string }[] = [];
  const logsFrom = victim.process.logs.length;

  work.startPosting();
  await waitFor(() => work.stats.created >= 20, { timeoutMs: 30_000, what: "posts to flow before the pause" });
  const closesBefore = new Map(work.recorders.map((r) => [r, r.closes.length]));
  const hellosBefore = new Map(work.recorders.map((r) => [r, r.hellos.length]));
  const createdBefore = work.stats.created;
  const pausedAt = Date.now();
  let watching = true;
  const slotWatch = (async () => {
    while (watching) {
      const s = (await cluster.haproxy.slots()).find((x) => x.slot === victim.slot)?.status ?? "?";
      if (slot.at(-1)?.status !== s) slot.push({ atMs: Date.now() - pausedAt, status: s });
      await sleep(100);
    }
  })();
  const { node, canary } = await natsConnectionOf(cluster, victim.name);
  const flood = await connectBus({ ...cluster.nats.nodes[node]!.as("gateway"), name: "acceptance/flood" });
  let floodMiB = 0;
  victim.process.signal("SIGSTOP");
  try {
    // T08: a publisher floods what the sleeping gateway subscribes to (its own canary subject,
    // so only it gets the flood, and the stream stores none of it), until its NATS server gives
    // up on it as a slow consumer, within the pause.
    for (let burst = FLOOD_FIRST_MIB; floodMiB < FLOOD_MAX_MIB && Date.now() < pausedAt + PAUSE_MS; burst = 8) {
      for (let i = 0; i < burst; i++) flood.publish(canary, FLOOD_CHUNK);
      floodMiB += burst;
      await flood.flush();
      if ((await natsSlowConsumers(cluster)) > slowBefore) break;
    }
    // The fault itself lasts this long from the SIGSTOP (posts keep flowing through the other gateways).
    await sleep(Math.max(0, pausedAt + PAUSE_MS - Date.now()));
  } finally {
    await flood.close();
    victim.process.signal("SIGCONT");
  }
  const postsDuringPause = work.stats.created - createdBefore;
  // Back in the pool: ready, and HAProxy checks it up again.
  await waitFor(async () => readiness.ready && (await cluster.haproxy.slots()).find((x) => x.slot === victim.slot)?.status === "UP", {
    timeoutMs: 30_000,
    what: "the paused gateway to be ready and in HAProxy's pool again",
  });
  const backMs = Date.now() - pausedAt;
  const createdBack = work.stats.created;
  await waitFor(() => work.stats.created >= createdBack + 20, { timeoutMs: 30_000, what: "posts after the pause" });
  const stats = await work.stopPosting();
  const report = await work.settle({ allowedExtraHellos: 0, timeoutMs: 60_000 });
  watching = false;
  await slotWatch;
  readiness.stop();
  if (!report.ok) console.log(report.text);

  const after = faultMetrics(await gatewayMetrics(victim.opsPort));
  const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
  const said = [
    ...new Set(
      victim.process.logs
        .slice(logsFrom)
        .filter((l) => l.level !== "debug")
        .map((l) => `${String(l.level)}: ${String(l.msg)}`),
    ),
  ];
  const closedSince = (rs: readonly Recorder[]) => rs.filter((r) => r.closes.length > closesBefore.get(r)!).length;
  figure("gateway pause", {
    clients: work.recorders.length,
    on_paused_gateway: mine.length,
    pause_ms: PAUSE_MS,
    posts_during_pause: postsDuringPause,
    flood_mib: floodMiB,
    ready_and_up_again_ms: backMs,
    // ms from the SIGSTOP (negative: before it).
    readiness: timelineText(readiness, pausedAt),
    haproxy_slot: slot,
    gateway_metrics_delta: delta,
    gateway_said: said,
    nats_slow_consumers: (await natsSlowConsumers(cluster)) - slowBefore,
    its_clients_closed: closedSince(mine),
    other_clients_closed: closedSince(work.recorders.filter((r) => !mine.includes(r))),
    new_hellos: work.recorders.reduce((n, r) => n + r.hellos.length - hellosBefore.get(r)!, 0),
    posts_created: stats.created,
    posts_failed: stats.failed,
    latency_ms: report.latencyMs,
    totals: report.totals,
  });

  const slowConsumers = (await natsSlowConsumers(cluster)) - slowBefore;
  expect(postsDuringPause).toBeGreaterThan(0);
  // The fault as meant: NATS gave up on the sleeping gateway, and the gateway noticed the loss
  // and repaired it (read back from the stream, or holes in channels' sequences repaired).
  expect(slowConsumers).toBeGreaterThanOrEqual(1);
  expect(delta["backfilled{source=stream}"]! + delta["backfilled{source=database}"]!).toBeGreaterThan(0);
  expect(delta.sb_gateway_channel_gaps_unrepaired_total).toBe(0);
  // Detected: the gateway was out of the pool while it slept (HAProxy's checks went unanswered),
  // where HAProxy's checks are quick enough to see a 3 s pause at all: at the full size they
  // need up to interval × (fall + 1) + timeout = 3.5 s, so there it is only seen failing a check.
  const h = cluster.topology.haproxy;
  const detectMs = h.checkInterMs * (h.fall + 1) + h.checkTimeoutMs;
  if (detectMs < PAUSE_MS) expect(slot.some((s) => s.status.startsWith("DOWN"))).toBe(true);
  else expect(slot.some((s) => s.status !== "UP")).toBe(true);
  // Nothing skipped silently: no client resynced, none missed an event or saw a seq it did not expect.
  expect(work.recorders.reduce((n, r) => n + r.missedReports, 0)).toBe(0);
  expect(report.totals).toMatchObject({ missing: 0, resynced: 0, duplicates: 0, outOfOrder: 0, leaked: 0, seqGaps: 0, extraHellos: 0 });
  expect(report.ok).toBe(true);
}, 300_000);
