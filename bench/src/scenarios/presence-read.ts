/**
 * presence-read: GetStatuses of 100 ids per call at 32 calls in flight (what every webapp's
 * 60 s poll of POST /api/v4/users/status/ids and get_statuses_by_ids turn into), answered by
 * a presence process from its watch-fed cache; beside it, in the same run, raw JetStream KV
 * gets of the same 100 keys per call at the same concurrency: the round trips the cache saves.
 *
 * The service is driven by h2load (h2load.ts), a caller written in C that costs microseconds
 * per call, over one HTTP/2 connection as one grpc-js channel would carry the calls: on a
 * two-core machine a JavaScript caller would take a core of its own and its own figure would be
 * measured instead. The same calls through @grpc/grpc-js (as the gateway makes them) are
 * measured beside. So is the transport floor, driven the same way: an HTTP/2 server doing no
 * work at all, once bare node:http2 (what the services ran on before they got their own HTTP/2,
 * packages/rpc/src/h2) and once nghttpd (C, what this machine's loopback allows).
 *
 * 5,000 users hold statuses (online, manual away, dnd); each call asks 100 ids of which a
 * fifth were never seen (answered "offline").
 *
 * The service is measured on each gRPC server implementation (SB_RPC_SERVER): a presence
 * process on our own HTTP/2 and one on @grpc/grpc-js's Server, in the same cluster, one after
 * the other, driven alike.
 */
import { connectBus, ensureStream, eventStreamSpec, isolatedBucket, kvBuckets, openKv } from "@switchboard/bus";
import { newId } from "@switchboard/model";
import { AccountsService } from "@switchboard/proto/accounts";
import { GetStatusesRequestSchema, GetStatusesResponseSchema, PresenceService } from "@switchboard/proto/presence";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import type { ConnectionEventSchema } from "@switchboard/proto/presence";
import { createRpcClient, DEFAULT_RPC_SERVER_TRANSPORT, RPC_SERVER_TRANSPORTS, type PresenceClient, type RpcServerTransport } from "@switchboard/rpc";
import { spawnDeployable, startNatsServer, waitFor, testClientTls, type ChildHandle } from "@switchboard/testkit";
import { closedLoop, percentile } from "../closed-loop.js";
import { h2load, type H2LoadResult } from "../h2load.js";
import { startTlsRelay, type TlsRelay } from "../tls-relay.js";
import { processCpuSeconds } from "../proc-cpu.js";
import { startCH2Floor, startNodeH2Floor, type H2FloorServer } from "../raw/h2-floor.js";
import { counterBy, delta } from "../scrape.js";
import { profiledNodeArgs, timed, transportKey, type ChartSpec, type ResultRow, type Scenario, type ScenarioContext } from "../scenario.js";

const IN_FLIGHT = 32;
const IDS_PER_CALL = 100;
const USERS = 5_000;
const TARGET_P99_MS = 5;
const BUCKET = isolatedBucket(kvBuckets.presence, "bench");
/** The flow-control windows the services' gRPC servers run with (@switchboard/rpc). */
const SERVER_WINDOW_BYTES = 1 << 20;
const LADDER = [1, 2, 4, 8, 16];

interface PhaseResult {
  readonly callsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly count: number;
}

interface Within {
  readonly inFlight: number;
  readonly callsPerS: number;
  readonly p99Ms: number;
}

/** Runs `op(worker, i)` in IN_FLIGHT loops for `durationMs`: throughput and latency. */
async function drive(durationMs: number, op: (worker: number, i: number) => Promise<void>): Promise<PhaseResult> {
  const { latencies, seconds: elapsed } = await closedLoop(IN_FLIGHT, durationMs, op);
  return { callsPerS: latencies.length / elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), count: latencies.length };
}

/** The highest of 1, 2, 4, 8, 16 calls in flight whose p99 stays under the target (0: none); undefined when skipped (QUICK). */
async function withinTarget(ctx: ScenarioContext, run: (inFlight: number) => Promise<PhaseResult>): Promise<Within | undefined> {
  if (ctx.quick) return undefined;
  let best: Within = { inFlight: 0, callsPerS: 0, p99Ms: 0 };
  for (const n of LADDER) {
    const r = await run(n);
    if (r.p99Ms >= TARGET_P99_MS) break;
    best = { inFlight: n, callsPerS: r.callsPerS, p99Ms: r.p99Ms };
  }
  return best;
}

/** Deterministic pseudo-random id lists, so the grpc-js and raw phases ask exactly the same keys. */
function idLists(known: readonly string[], count: number): string[][] {
  let seed = 42;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const unknown = Array.from({ length: 2_000 }, () => newId());
  return Array.from({ length: count }, () =>
    Array.from({ length: IDS_PER_CALL }, (_, i) => (i % 5 === 4 ? unknown[rnd(unknown.length)]! : known[rnd(known.length)]!)),
  );
}

async function populate(presence: PresenceClient, users: readonly string[]): Promise<void> {
  const { leaseId } = await presence.acquireLease({ gatewayId: "bench-gateway" });
  for (let i = 0; i < users.length; i += 500) {
    const events: MessageInitShape<typeof ConnectionEventSchema>[] = [];
    users.slice(i, i + 500).forEach((userId, j) => {
      events.push({ kind: { case: "opened", value: { userId, connectionId: `b${i + j}`, at: 0n } } });
      // Every seventh user set a manual away (the client's user_update_active_status manual).
      if ((i + j) % 7 === 0) events.push({ kind: { case: "activity", value: { userId, active: false, manual: true, at: 0n } } });
    });
    const { refused } = await presence.report({ leaseId, events });
    if (refused.length > 0) throw new Error(`presence refused ${String(refused.length)} connections (the first: ${refused[0]!.reason})`);
  }
}

async function run(ctx: ScenarioContext) {
  const durationMs = Math.round(10_000 * ctx.scale);
  const shortMs = Math.min(3_000, durationMs / 2);
  const warmMs = Math.min(2_000, durationMs / 4);
  const nats = await startNatsServer();
  const procs: ChildHandle[] = [];
  const relays: TlsRelay[] = [];
  try {
    // Presence starts once posts's event stream exists; this cluster has no posts, so the
    // stream is made here by posts's user, as posts would make it.
    const streams = await connectBus({ ...nats.as("posts"), name: "bench-streams" });
    await ensureStream(streams, eventStreamSpec({ maxAgeMs: 15 * 60_000 }));
    await streams.close();
    const base = { SB_POD_NAME: "bench" };
    const accounts = await spawnDeployable("accounts", {
      ...nats.env("accounts"),
      ...base,
      DATABASE_URL: "",
      SB_ACCOUNTS_PGLITE_DIR: "memory://",
      SB_ACCOUNTS_GRPC_PORT: "0",
      SB_ACCOUNTS_OPS_PORT: "0",
    });
    procs.push(accounts);
    // One presence process per gRPC server implementation, in the same cluster (bucket).
    const presenceOn = new Map<RpcServerTransport, { proc: ChildHandle; client: PresenceClient }>();
    for (const transport of RPC_SERVER_TRANSPORTS) {
      const proc = await spawnDeployable(
        "presence",
        {
          ...nats.env("presence"),
          ...base,
          SB_RPC_SERVER: transport,
          SB_POD_NAME: `bench-${transport}`,
          SB_PRESENCE_GRPC_PORT: "0",
          SB_PRESENCE_OPS_PORT: "0",
          SB_PRESENCE_ACCOUNTS_ADDR: `127.0.0.1:${String(accounts.ready.grpc_port)}`,
          SB_PRESENCE_KV_BUCKET: BUCKET,
          // Nobody renews the bench lease for the whole run; the statuses must not move meanwhile.
          SB_PRESENCE_LEASE_TTL_MS: "3600000",
          SB_PRESENCE_AWAY_AFTER_MS: "3600000",
          // Its cost is what a read pays for read-your-writes across replicas: compare with it off.
          ...(process.env.SB_PRESENCE_READ_BARRIER ? { SB_PRESENCE_READ_BARRIER: process.env.SB_PRESENCE_READ_BARRIER } : {}),
        },
        profiledNodeArgs(),
      );
      procs.push(proc);
      if (proc.ready.grpc_server !== transport) throw new Error(`presence asked to serve on ${transport} serves on ${String(proc.ready.grpc_server)}`);
      presenceOn.set(transport, {
        proc,
        client: createRpcClient(PresenceService, {
          address: `127.0.0.1:${String(proc.ready.grpc_port)}`,
          defaultDeadlineMs: 10_000,
          tls: testClientTls("presence"),
        }),
      });
    }
    const acc = createRpcClient(AccountsService, {
      address: `127.0.0.1:${String(accounts.ready.grpc_port)}`,
      defaultDeadlineMs: 10_000,
      tls: testClientTls("accounts"),
    });
    await acc.createUser({ username: "bench", email: "bench@example.com", password: "password-1" });
    const { token } = await acc.login({ loginId: "bench", password: "password-1" });

    const users = Array.from({ length: USERS }, () => newId());
    await populate(presenceOn.get(DEFAULT_RPC_SERVER_TRANSPORT)!.client, users);
    const lists = idLists(users, 512);
    for (const [transport, { client, proc }] of presenceOn) {
      await waitFor(
        async () => {
          const s = (await client.getStatuses({ userIds: [users.at(-1)!] }, { token })).statuses[0];
          // Thrown, so a timeout says what the cache held.
          if (s?.status !== "online") {
            const said = proc.logs.filter((l) => l.level !== "info" && l.level !== "debug").slice(-5);
            throw new Error(
              `the last user reads, on ${transport}: ${s ? `${s.status} (manual ${String(s.manual)}, last activity ${String(s.lastActivityAt)})` : "nothing"}; its last warnings: ${JSON.stringify(said)}`,
            );
          }
          return true;
        },
        { what: "statuses in the cache" },
      );
    }
    const sample = (await presenceOn.get(DEFAULT_RPC_SERVER_TRANSPORT)!.client.getStatuses({ userIds: lists[0]! }, { token })).statuses;
    ctx.log(`${USERS} users populated; one call: ${sample.filter((s) => s.status !== "offline").length}/${IDS_PER_CALL} known`);

    // The service driven by h2load: one request (the first id list) on every stream; every
    // answer checked by h2load's byte count and by the service's own per-code call counter.
    const request = toBinary(GetStatusesRequestSchema, create(GetStatusesRequestSchema, { userIds: lists[0]! }));
    const responseBytes = toBinary(GetStatusesResponseSchema, create(GetStatusesResponseSchema, { statuses: sample })).length;
    const grpcHeaders = { authorization: `Bearer ${token}`, "grpc-timeout": "10S" };
    const load = (url: string, inFlight: number, ms: number) => h2load({ url, request, responseBytes, headers: grpcHeaders, inFlight, durationMs: ms });

    /** Every phase of the service on one presence process. */
    const measure = async (transport: RpcServerTransport, presenceProc: ChildHandle, presence: PresenceClient) => {
      const metricsUrl = `http://127.0.0.1:${String(presenceProc.ready.ops_port)}/metrics`;
      const handled = () => counterBy(metricsUrl, "sb_rpc_server_handled_total", { method: `${PresenceService.typeName}/GetStatuses` }, "code");
      // h2load presents no client certificate: it goes through a relay that does (tls-relay.ts).
      const relay = await startTlsRelay({ targetPort: Number(presenceProc.ready.grpc_port), tls: testClientTls("presence") });
      relays.push(relay);
      const serviceUrl = `http://127.0.0.1:${String(relay.port)}/${PresenceService.typeName}/GetStatuses`;
      const viaH2load = async (inFlight: number, ms: number): Promise<H2LoadResult> => {
        const before = await handled();
        const r = await load(serviceUrl, inFlight, ms);
        const calls = delta(before, await handled());
        const failed = [...calls].filter(([code, n]) => code !== "OK" && n > 0);
        if (failed.length > 0) throw new Error(`calls failed in the service: ${JSON.stringify(Object.fromEntries(failed))}`);
        if ((calls.get("OK") ?? 0) < r.count)
          throw new Error(`the service answered ${String(calls.get("OK") ?? 0)} calls OK, h2load completed ${String(r.count)}`);
        return r;
      };
      ctx.log(`service on ${transport}: warming up, then ${durationMs} ms at ${IN_FLIGHT} in flight${ctx.quick ? "" : `, then ${LADDER.join(", ")}`}`);
      await viaH2load(IN_FLIGHT, warmMs);
      // The service's own garbage-collection figures (prom-client's default metrics), by kind.
      const gcCount = () => counterBy(metricsUrl, "nodejs_gc_duration_seconds_count", {}, "kind");
      const gcSeconds = () => counterBy(metricsUrl, "nodejs_gc_duration_seconds_sum", {}, "kind");
      const [gcCount0, gcSeconds0] = [await gcCount(), await gcSeconds()];
      const cpu0 = processCpuSeconds(presenceProc.pid);
      const service = await timed(ctx, `service on ${transport}, h2load`, durationMs, () => viaH2load(IN_FLIGHT, durationMs));
      const serviceCpu = processCpuSeconds(presenceProc.pid) - cpu0;
      const gcCounts = delta(gcCount0, await gcCount());
      const gcPauseS = [...delta(gcSeconds0, await gcSeconds()).values()].reduce((a, b) => a + b, 0);
      const gc = { majors: gcCounts.get("major") ?? 0, minors: gcCounts.get("minor") ?? 0, pauseS: gcPauseS };
      const serviceWithin = await withinTarget(ctx, (n) => viaH2load(n, shortMs));

      // The same calls as the gateway makes them: @grpc/grpc-js in this process, the id lists varied.
      const grpcJsCall = async (w: number, i: number) => {
        const r = await presence.getStatuses({ userIds: lists[(w * 31 + i) % lists.length]! }, { token });
        if (r.statuses.length !== IDS_PER_CALL) throw new Error("short answer");
      };
      ctx.log(`service on ${transport} via grpc-js: warming up, then ${durationMs} ms at ${IN_FLIGHT} in flight`);
      await drive(warmMs, grpcJsCall);
      const client0 = process.cpuUsage();
      const grpcJs = await timed(ctx, `service on ${transport}, grpc-js caller`, durationMs, () => drive(durationMs, grpcJsCall));
      const clientUsage = process.cpuUsage(client0);
      const grpcJsClientCpu = (clientUsage.user + clientUsage.system) / 1e6;
      return { service, serviceCpu, gc, serviceWithin, grpcJs, grpcJsClientCpu };
    };
    const onTransport = new Map<RpcServerTransport, Awaited<ReturnType<typeof measure>>>();
    for (const [transport, { proc, client }] of presenceOn) {
      onTransport.set(transport, await measure(transport, proc, client));
      client.close();
    }
    acc.close();

    // The transport floor: servers that do no work, answering the same sizes, driven alike.
    const floorOf = async (name: string, start: () => Promise<H2FloorServer>) => {
      const server = await start();
      try {
        const call = (inFlight: number, ms: number) => load(server.url, inFlight, ms);
        ctx.log(`${name}: ${durationMs} ms at ${IN_FLIGHT} in flight${ctx.quick ? "" : `, then ${LADDER.join(", ")}`}`);
        await call(IN_FLIGHT, warmMs);
        const result = await timed(ctx, name, durationMs, () => call(IN_FLIGHT, durationMs));
        const within = await withinTarget(ctx, (n) => call(n, shortMs));
        return { result, within };
      } finally {
        await server.stop();
      }
    };
    const nodeFloor = await floorOf("bare node:http2", () =>
      startNodeH2Floor({ path: `/${PresenceService.typeName}/GetStatuses`, responseBytes, windowBytes: SERVER_WINDOW_BYTES }),
    );
    // nghttpd serves a file: the gRPC frame's five bytes are part of it.
    const cFloor = await floorOf("nghttpd (C)", () => startCH2Floor({ bytes: 5 + responseBytes }));

    // Raw: the same keys straight from the bucket, one get per id, from a connection of our own.
    // Key names come from the bucket's own listing (presence owns its key layout).
    const bus = await connectBus({ ...nats.as("presence"), name: "bench-raw" });
    try {
      const kv = await openKv(bus, { bucket: BUCKET });
      const stored = await kv.keys();
      const userKey = stored.find((k) => k.endsWith(users[0]!))!;
      const prefix = userKey.slice(0, userKey.length - users[0]!.length);
      const keyLists = lists.map((l) => l.map((id) => prefix + id));
      const rawCall = async (w: number, i: number) => {
        const keys = keyLists[(w * 31 + i) % keyLists.length]!;
        await Promise.all(keys.map((k) => kv.get(k)));
      };
      ctx.log(`raw kv: warming up, then ${durationMs} ms at ${IN_FLIGHT} in flight (${IDS_PER_CALL} gets per call)`);
      await drive(warmMs, rawCall);
      const raw = await timed(ctx, "raw kv", durationMs, () => drive(durationMs, rawCall));
      return { onTransport, nodeFloor, cFloor, raw };
    } finally {
      await bus.close();
    }
  } finally {
    await Promise.all(relays.map((r) => r.close()));
    await Promise.all(procs.map((p) => p.stop()));
    await nats.stop();
  }
}

export const scenario: Scenario = {
  name: "presence-read",
  description: `GetStatuses of ${IDS_PER_CALL} ids at ${IN_FLIGHT} in flight from the presence cache vs raw KV gets of the same keys, same run`,
  async run(ctx) {
    const { onTransport, nodeFloor, cFloor, raw } = await run(ctx);
    const { service, serviceCpu, gc, serviceWithin, grpcJs, grpcJsClientCpu } = onTransport.get(DEFAULT_RPC_SERVER_TRANSPORT)!;
    const seconds = service.count / service.callsPerS;
    const perK = (cpuS: number, count: number) => (cpuS / count) * 1000;
    const within = (prefix: string, w: Within | undefined): Record<string, number> =>
      w === undefined
        ? {}
        : {
            [`${prefix}within_target_max_in_flight`]: w.inFlight,
            [`${prefix}within_target_calls_per_s`]: w.callsPerS,
            [`${prefix}within_target_p99_ms`]: w.p99Ms,
          };
    // Each gRPC server implementation's figures: the reason for keeping our own HTTP/2, or not.
    const serverFigures: Record<string, number> = {};
    for (const [t, m] of onTransport) {
      const k = `${transportKey(t)}_server_`;
      Object.assign(serverFigures, {
        [`${k}calls_per_s`]: m.service.callsPerS,
        [`${k}p50_ms`]: m.service.p50Ms,
        [`${k}p99_ms`]: m.service.p99Ms,
        [`${k}cpu_s_per_1k_calls`]: perK(m.serviceCpu, m.service.count),
        [`${k}gc_pause_ms_per_s`]: (m.gc.pauseS * 1000 * m.service.callsPerS) / m.service.count,
        ...within(k, m.serviceWithin),
        [`${k}grpc_js_caller_calls_per_s`]: m.grpcJs.callsPerS,
        [`${k}grpc_js_caller_p50_ms`]: m.grpcJs.p50Ms,
        [`${k}grpc_js_caller_p99_ms`]: m.grpcJs.p99Ms,
      });
    }
    serverFigures.h2_over_grpc_js_server = onTransport.get("h2")!.service.callsPerS / onTransport.get("grpc-js")!.service.callsPerS;
    serverFigures.h2_over_grpc_js_server_grpc_js_caller = onTransport.get("h2")!.grpcJs.callsPerS / onTransport.get("grpc-js")!.grpcJs.callsPerS;
    // What the report draws: Switchboard's presence on each server and caller, beside the raw reads and the floors.
    const parties: { subject: string; peer: boolean; m: PhaseResult }[] = [
      ...[...onTransport].flatMap(([t, m]) => [
        { subject: `Switchboard presence (${t} server, h2load)`, peer: false, m: m.service },
        { subject: `Switchboard presence (${t} server, grpc-js caller)`, peer: false, m: m.grpcJs },
      ]),
      { subject: "raw JetStream KV gets", peer: true, m: raw },
      { subject: "bare node:http2 (no work)", peer: true, m: nodeFloor.result },
      { subject: "nghttpd, C (no work)", peer: true, m: cFloor.result },
    ];
    const rows: ResultRow[] = parties.map(({ subject, peer, m }) => ({
      label: `${IN_FLIGHT} in flight`,
      subject,
      peer,
      values: { calls_per_s: m.callsPerS, p50_ms: m.p50Ms, p99_ms: m.p99Ms, calls: m.count },
    }));
    const charts: ChartSpec[] = [
      {
        title: `GetStatuses (${IDS_PER_CALL} ids) calls per second, ${IN_FLIGHT} in flight`,
        kind: "bar",
        xLabel: "",
        yLabel: "calls / s",
        labels: ["GetStatuses"],
        series: parties.map((p) => ({ label: p.subject, data: [p.m.callsPerS] })),
      },
      {
        title: `Latency per call (target: p99 < ${TARGET_P99_MS} ms)`,
        kind: "bar",
        xLabel: "",
        yLabel: "ms",
        labels: ["p50", "p99"],
        series: parties.map((p) => ({ label: p.subject, data: [p.m.p50Ms, p.m.p99Ms] })),
      },
    ];
    return {
      rows,
      charts,
      figures: {
        calls_per_s: service.callsPerS,
        statuses_per_s: service.callsPerS * IDS_PER_CALL,
        p50_ms: service.p50Ms,
        p99_ms: service.p99Ms,
        presence_cpu_s_per_1k_calls: perK(serviceCpu, service.count),
        presence_gc_pause_ms_per_s: (gc.pauseS * 1000) / seconds,
        presence_minor_gcs_per_s: gc.minors / seconds,
        presence_major_gcs_per_s: gc.majors / seconds,
        h2load_cpu_s_per_1k_calls: perK(service.clientCpuS, service.count),
        ...within("", serviceWithin),
        grpc_js_caller_calls_per_s: grpcJs.callsPerS,
        grpc_js_caller_p50_ms: grpcJs.p50Ms,
        grpc_js_caller_p99_ms: grpcJs.p99Ms,
        grpc_js_caller_cpu_s_per_1k_calls: perK(grpcJsClientCpu, grpcJs.count),
        node_http2_floor_calls_per_s: nodeFloor.result.callsPerS,
        node_http2_floor_p50_ms: nodeFloor.result.p50Ms,
        node_http2_floor_p99_ms: nodeFloor.result.p99Ms,
        ...(nodeFloor.within ? { node_http2_floor_within_target_max_in_flight: nodeFloor.within.inFlight } : {}),
        c_http2_floor_calls_per_s: cFloor.result.callsPerS,
        c_http2_floor_p50_ms: cFloor.result.p50Ms,
        c_http2_floor_p99_ms: cFloor.result.p99Ms,
        ...(cFloor.within ? { c_http2_floor_within_target_max_in_flight: cFloor.within.inFlight } : {}),
        raw_kv_calls_per_s: raw.callsPerS,
        raw_kv_p50_ms: raw.p50Ms,
        raw_kv_p99_ms: raw.p99Ms,
        speedup: service.callsPerS / raw.callsPerS,
        ...serverFigures,
      },
      target: { text: `service p99 < ${TARGET_P99_MS} ms`, met: service.p99Ms < TARGET_P99_MS },
      notes: [
        `the unprefixed service figures are presence on the default gRPC server (${DEFAULT_RPC_SERVER_TRANSPORT}); <h2|grpc_js>_server_*: a presence process on each implementation, in the same cluster, driven alike one after the other (h2_over_grpc_js_server: their h2load throughput ratio)`,
        `${USERS} users with statuses, ${IDS_PER_CALL} ids per call (a fifth unknown), one bearer token; every process shares this machine's cores`,
        "service: driven by h2load (C), one HTTP/2 connection, the same 100-id request on every stream; every answer checked (its size, and the service's own count of calls by status code)",
        "grpc_js_caller: the same calls, id lists varied, through @grpc/grpc-js in the bench process, as the gateway makes them; that client's CPU shares the cores with the service",
        `node_http2_floor: bare node:http2 doing no work (${SERVER_WINDOW_BYTES} B windows, as our gRPC servers open), same sizes, driven by h2load alike: what a service on node:http2 could do at best (ours run on their own HTTP/2 instead)`,
        "c_http2_floor: nghttpd (nghttp2's C server) serving the same number of bytes, driven alike: what HTTP/2 on this machine's loopback can do",
        "raw = the same keys read with one JetStream KV get each (Promise.all per call), no cache, from the bench process",
        "presence_gc_*: the service's garbage collections during the main phase (nodejs_gc_duration_seconds): time paused per second, and young-generation (minor) and full (major) collections per second; calls whose objects outlive a young collection show as majors and long pauses",
        `within_target = the highest of ${LADDER.join(", ")} calls in flight whose p99 stayed under ${TARGET_P99_MS} ms, and its throughput`,
      ],
    };
  },
};
