/**
 * The event stream loses events, a stand-in for JetStream losing acknowledged writes (Jepsen's
 * analysis of NATS 2.12.1; nats-server 2.9 has no sync setting at all): while one gateway's
 * NATS connection is cut (testkit's fault proxy resets it, so it misses everything published
 * meanwhile live), the channel posts published meanwhile are deleted from the event stream
 * behind the gateways' backs. When the gateway is back, its read-back from the stream lacks
 * them; the holes in the channels' sequences (and the channels' committed heads) show what is
 * missing, and it is fetched from PostgreSQL through posts (GetChannelEvents). Every committed
 * post still reaches every member exactly once, in order, with no resync.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { connectBus, decodeEvent, deleteStreamMessage, EventName, readStreamRange, streams, subjects, type Bus } from "@switchboard/bus";
import { startCluster, startFaultProxy, waitFor, type Cluster, type ClusterGateway, type FaultProxy, type Workload } from "@switchboard/testkit";
import { clusterSize, figure, loadEnv, startLoad } from "./load.js";
import { countsSince, recoveryCounts, socketsOn, timelineText, watchReadiness } from "./gateway-ops.js";

let cluster: Cluster;
let work: Workload;
let proxy: FaultProxy;
/** The gateway whose NATS connection goes through the proxy. */
let cut: ClusterGateway;
let bus: Bus;

beforeAll(async () => {
  // The nodes do not advertise each other, so the cut-off gateway cannot reconnect around the proxy.
  cluster = await startCluster({ size: clusterSize, env: loadEnv, topology: { gateways: 2 }, postgres: "private", natsNoAdvertise: true });
  proxy = await startFaultProxy({ target: `127.0.0.1:${cluster.nats.nodes[0]!.port}` });
  cut = await cluster.gateways.add({ env: { SB_NATS_URL: `nats://${proxy.address}` } });
  work = await startLoad(cluster);
  bus = await connectBus({ ...cluster.nats.as("test"), name: "stream-loss-test" });
}, 180_000);

afterAll(async () => {
  await bus?.close();
  await work?.stop();
  await cluster?.stop();
  await proxy?.stop();
}, 120_000);

it("posts the stream lost while a gateway was cut off reach every member from PostgreSQL", async () => {
  const gws = [...cluster.gateways.list];
  const cutIndex = gws.indexOf(cut);
  const perGateway = await Promise.all(gws.map(socketsOn));
  const cutClients = perGateway[cutIndex]!;
  console.log(`sockets per gateway: ${JSON.stringify(Object.fromEntries(gws.map((g, i) => [g.name, perGateway[i]])))}`);
  // Some of the population is on the gateway that will miss the events live.
  expect(cutClients).toBeGreaterThan(0);
  const channelSubjects = new Set([...work.population.channels, work.population.everyone].map((c) => subjects.channel(c.id)));
  const before = await Promise.all(gws.map(recoveryCounts));
  const ready = watchReadiness(cut, 50);
  const others = gws.filter((g) => g !== cut).map((g) => watchReadiness(g, 50));
  let cutAt = 0;
  let restoredAt = 0;
  let deleted = 0;
  let storedWhileCut = 0;
  try {
    work.startPosting();
    // Posts flow, then the cut: within the gateway's read-back margin (SB_GATEWAY_RECOVERY_MARGIN_MS,
    // 5 s) of the clients' hellos, so its read-back reaches back before them and must not hand
    // them their own membership events (the ledger counts those as leaked).
    await waitFor(() => work.stats.created >= 20, {
      timeoutMs: 30_000,
      what: "posts flowing before the cut",
    });
    cutAt = Date.now();
    proxy.reset();
    try {
      await waitFor(() => ready.notReadyAt > 0, { timeoutMs: 10_000, what: "the cut-off gateway not ready" });
      const created = work.stats.created;
      await waitFor(() => work.stats.created >= created + 20, { timeoutMs: 30_000, what: "posts flowing while the gateway is cut off" });
      // Behind every gateway's back: the channel posts stored since the cut leave the stream.
      const stored = await readStreamRange(bus, { stream: streams.events.name, filterSubjects: [subjects.allEvents], start: { timeMs: cutAt } });
      storedWhileCut = stored.length;
      for (const m of stored) {
        if (!channelSubjects.has(m.subject) || decodeEvent(m.data).event !== EventName.Posted) continue;
        if (await deleteStreamMessage(bus, streams.events.name, m.seq)) deleted++;
      }
    } finally {
      proxy.restore();
      restoredAt = Date.now();
    }
    await waitFor(() => ready.ready && ready.readyAgainAt >= restoredAt, { timeoutMs: 30_000, intervalMs: 50, what: "the cut-off gateway ready again" });
    const created = work.stats.created;
    await waitFor(() => work.stats.created >= created + 20, { timeoutMs: 30_000, what: "posts flowing after the restore" });
  } finally {
    await work.stopPosting();
    ready.stop();
    for (const w of others) w.stop();
  }
  const readyMs = ready.readyAgainAt - restoredAt;
  const report = await work.settle({ allowedExtraHellos: 0, timeoutMs: 60_000 });
  const ledgerMs = Date.now() - restoredAt;
  if (!report.ok) console.log(report.text);
  const counts = (await Promise.all(gws.map(recoveryCounts))).map((a, i) => countsSince(before[i]!, a));
  figure("stream loses events", {
    clients: work.recorders.length,
    clients_on_cut_gateway: cutClients,
    posts_created: work.stats.created,
    posts_failed: work.stats.failed,
    cut_ms: restoredAt - cutAt,
    stored_while_cut: storedWhileCut,
    deleted_from_stream: deleted,
    cut_gateway_ready_after_restore_ms: readyMs,
    ledger_ok_after_restore_ms: ledgerMs,
    readiness: { [cut.name]: timelineText(ready, cutAt), ...Object.fromEntries(others.map((w) => [w.gateway, timelineText(w, cutAt)])) },
    recovered_from_database: Object.fromEntries(gws.map((g, i) => [g.name, counts[i]!.fromDatabase])),
    recovery: Object.fromEntries(gws.map((g, i) => [g.name, counts[i]])),
    latency_ms: report.latencyMs,
    totals: report.totals,
  });
  expect(deleted).toBeGreaterThan(0);
  expect([...ready.reasons]).toContain("nats not ready");
  // The other gateways stayed connected and ready all along.
  for (const w of others) expect(w.notReadyAt).toBe(0);
  // What the stream lost came from the database, on the gateway that missed it live; no hole
  // was left to a resync.
  expect(counts[cutIndex]!.fromDatabase).toBeGreaterThan(0);
  expect(counts[cutIndex]!.gaps).toBeGreaterThan(0);
  for (const c of counts) expect(c).toMatchObject({ gapsUnrepaired: 0, outageResyncs: 0, resyncCloses: 0 });
  expect(report.totals).toMatchObject({ missing: 0, resynced: 0, duplicatesRaw: 0, duplicates: 0, outOfOrder: 0, leaked: 0, seqGaps: 0, extraHellos: 0 });
  expect(work.recorders.reduce((n, r) => n + r.missedReports, 0)).toBe(0);
  expect(report.ok).toBe(true);
}, 300_000);
