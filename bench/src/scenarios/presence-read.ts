/**
 * presence-read: GetStatuses of 100 ids per call at 32 calls in flight (what every webapp's
 * 60 s poll of POST /api/v4/users/status/ids and get_statuses_by_ids turn into), answered by
 * a presence process from its watch-fed cache; beside it, in the same run, raw JetStream KV
 * gets of the same 100 keys per call at the same concurrency: the round trips the cache saves.
 * Also beside it: the same request and response sizes over bare node:http2 with no gRPC library
 * and no work, the latency any gRPC call's transport has on this machine at that concurrency.
 *
 * 5,000 users hold statuses (online, manual away, dnd); each call asks 100 ids of which a
 * fifth were never seen (answered "offline").
 */
import { connectBus, openKv } from "@switchboard/bus";
import { newId } from "@switchboard/model";
import { AccountsService } from "@switchboard/proto/accounts";
import { GetStatusesRequestSchema, GetStatusesResponseSchema, PresenceService, type ConnectionEvent } from "@switchboard/proto/presence";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import type { ConnectionEventSchema } from "@switchboard/proto/presence";
import { createRpcClient } from "@switchboard/rpc";
import { spawnDeployable, startNatsServer, waitFor, type ChildHandle } from "@switchboard/testkit";
import { closedLoop, percentile } from "../closed-loop.js";
import { processCpuSeconds } from "../proc-cpu.js";
import { startH2Floor } from "../raw/h2-floor.js";
import { profiledNodeArgs, type Scenario, type ScenarioContext } from "../scenario.js";

const IN_FLIGHT = 32;
const IDS_PER_CALL = 100;
const USERS = 5_000;
const TARGET_P99_MS = 5;
const BUCKET = "sb_presence_bench";
const WIDE_WINDOW_BYTES = 1 << 20;

interface PhaseResult {
  readonly callsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly count: number;
}

/** Runs `op(worker, i)` in `inFlight` loops for `durationMs`: throughput and latency. */
async function drive(durationMs: number, op: (worker: number, i: number) => Promise<void>, inFlight = IN_FLIGHT): Promise<PhaseResult> {
  const { latencies, seconds: elapsed } = await closedLoop(inFlight, durationMs, op);
  return { callsPerS: latencies.length / elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), count: latencies.length };
}

/** The highest of 1, 2, 4, 8, 16 calls in flight whose p99 stays under the target (0: none). */
async function withinTarget(durationMs: number, op: (worker: number, i: number) => Promise<void>, first?: PhaseResult) {
  let best = { inFlight: 0, callsPerS: 0, p99Ms: 0 };
  for (const n of [1, 2, 4, 8, 16]) {
    const r = n === 1 && first ? first : await drive(durationMs, op, n);
    if (r.p99Ms >= TARGET_P99_MS) break;
    best = { inFlight: n, callsPerS: r.callsPerS, p99Ms: r.p99Ms };
  }
  return best;
}

/** Deterministic pseudo-random id lists, so both phases ask exactly the same keys. */
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

async function populate(presence: ReturnType<typeof createRpcClient<(typeof PresenceService)["method"]>>, users: readonly string[]): Promise<void> {
  const { leaseId } = await presence.acquireLease({ gatewayId: "bench-gateway" });
  for (let i = 0; i < users.length; i += 500) {
    const events: MessageInitShape<typeof ConnectionEventSchema>[] = [];
    users.slice(i, i + 500).forEach((userId, j) => {
      events.push({ kind: { case: "opened", value: { userId, connectionId: `b${i + j}`, at: 0n } } });
      // Every seventh user set a manual away (the client's user_update_active_status manual).
      if ((i + j) % 7 === 0) events.push({ kind: { case: "activity", value: { userId, active: false, manual: true, at: 0n } } });
    });
    await presence.report({ leaseId, events: events as ConnectionEvent[] });
  }
}

async function run(ctx: ScenarioContext) {
  const durationMs = Math.round(10_000 * ctx.scale);
  const nats = await startNatsServer();
  const procs: ChildHandle[] = [];
  try {
    const base = { SB_NATS_URL: nats.url, SB_POD_NAME: "bench" };
    const accounts = await spawnDeployable("accounts", { ...base, DATABASE_URL: "", SB_ACCOUNTS_PGLITE_DIR: "memory://", SB_ACCOUNTS_GRPC_PORT: "0", SB_ACCOUNTS_OPS_PORT: "0" });
    procs.push(accounts);
    const presenceProc = await spawnDeployable("presence", {
      ...base,
      SB_PRESENCE_GRPC_PORT: "0",
      SB_PRESENCE_OPS_PORT: "0",
      SB_PRESENCE_ACCOUNTS_ADDR: `127.0.0.1:${String(accounts.ready.grpc_port)}`,
      SB_PRESENCE_KV_BUCKET: BUCKET,
      // Nobody renews the bench lease for the whole run; the statuses must not move meanwhile.
      SB_PRESENCE_LEASE_TTL_MS: "3600000",
      SB_PRESENCE_AWAY_AFTER_MS: "3600000",
    }, profiledNodeArgs());
    procs.push(presenceProc);
    const acc = createRpcClient(AccountsService, { address: `127.0.0.1:${String(accounts.ready.grpc_port)}`, defaultDeadlineMs: 10_000 });
    const presence = createRpcClient(PresenceService, { address: `127.0.0.1:${String(presenceProc.ready.grpc_port)}`, defaultDeadlineMs: 10_000 });
    await acc.createUser({ username: "bench", email: "bench@example.com", password: "password-1" });
    const { token } = await acc.login({ loginId: "bench", password: "password-1" });

    const users = Array.from({ length: USERS }, () => newId());
    await populate(presence, users);
    const lists = idLists(users, 512);
    await waitFor(async () => (await presence.getStatuses({ userIds: [users.at(-1)!] }, { token })).statuses[0]?.status === "online", { what: "statuses in the cache" });
    const sample = (await presence.getStatuses({ userIds: lists[0]! }, { token })).statuses;
    ctx.log(`${USERS} users populated; one call: ${sample.filter((s) => s.status !== "offline").length}/${IDS_PER_CALL} known`);

    const serviceCall = async (w: number, i: number) => {
      const r = await presence.getStatuses({ userIds: lists[(w * 31 + i) % lists.length]! }, { token });
      if (r.statuses.length !== IDS_PER_CALL) throw new Error("short answer");
    };
    ctx.log(`service: warming up, then ${durationMs} ms at ${IN_FLIGHT} in flight`);
    await drive(Math.min(2_000, durationMs / 4), serviceCall);
    const cpu0 = processCpuSeconds(presenceProc.pid);
    const client0 = process.cpuUsage();
    const service = await drive(durationMs, serviceCall);
    const serviceCpu = processCpuSeconds(presenceProc.pid) - cpu0;
    const clientUsage = process.cpuUsage(client0);
    const clientCpu = (clientUsage.user + clientUsage.system) / 1e6;
    // The same calls one at a time: the service's latency without queueing behind 31 others.
    ctx.log(`service: ${service.count} calls; now at 1, 2, 4, 8 and 16 in flight, then the one-id floor`);
    const single = await drive(Math.min(3_000, durationMs / 2), serviceCall, 1);
    // The most this machine serves within the target: the highest concurrency whose p99 holds.
    const serviceWithin = await withinTarget(Math.min(3_000, durationMs / 2), serviceCall, single);
    // The gRPC floor on this machine: a one-id GetStatus at the same concurrency.
    const floor = await drive(Math.min(5_000, durationMs / 2), async (w, i) => {
      await presence.getStatus({ userId: users[(w * 131 + i) % users.length]! }, { token });
    });
    presence.close();
    acc.close();

    // The transport floor: the same request and response sizes over bare node:http2, no gRPC
    // library and no work on either side, at the same concurrency: once with HTTP/2's default
    // flow-control windows (as grpc-js runs), once with wide ones.
    const floorOf = async (name: string, windowBytes: number) => {
      const h2 = await startH2Floor({
        path: "/sb.presence.v1.PresenceService/GetStatuses",
        requestBytes: toBinary(GetStatusesRequestSchema, create(GetStatusesRequestSchema, { userIds: lists[0]! })),
        responseBytes: toBinary(GetStatusesResponseSchema, create(GetStatusesResponseSchema, { statuses: sample })).length,
        windowBytes,
      });
      try {
        ctx.log(`${name}: ${durationMs} ms at ${IN_FLIGHT} in flight, then 1, 2, 4, 8 and 16`);
        await drive(Math.min(2_000, durationMs / 4), () => h2.call());
        const cpu0 = processCpuSeconds(h2.pid);
        const client0 = process.cpuUsage();
        const result = await drive(durationMs, () => h2.call());
        const serverCpu = processCpuSeconds(h2.pid) - cpu0;
        const client = process.cpuUsage(client0);
        const within = await withinTarget(Math.min(3_000, durationMs / 2), () => h2.call());
        return { result, within, serverCpu, clientCpu: (client.user + client.system) / 1e6 };
      } finally {
        await h2.stop();
      }
    };
    const h2 = await floorOf("bare http2", 0);
    const h2Wide = await floorOf("bare http2, 1 MiB windows", WIDE_WINDOW_BYTES);

    // Raw: the same keys straight from the bucket, one get per id, from a connection of our own.
    // Key names come from the bucket's own listing (presence owns its key layout).
    const bus = await connectBus({ servers: nats.url, name: "bench-raw" });
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
      await drive(Math.min(2_000, durationMs / 4), rawCall);
      const raw = await drive(durationMs, rawCall);
      return { service, single, serviceWithin, floor, h2, h2Wide, raw, serviceCpu, clientCpu };
    } finally {
      await bus.close();
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await nats.stop();
  }
}

export const scenario: Scenario = {
  name: "presence-read",
  description: `GetStatuses of ${IDS_PER_CALL} ids at ${IN_FLIGHT} in flight from the presence cache vs raw KV gets of the same keys, same run`,
  async run(ctx) {
    const { service, single, serviceWithin, floor, h2, h2Wide, raw, serviceCpu, clientCpu } = await run(ctx);
    return {
      figures: {
        service_calls_per_s: service.callsPerS,
        service_statuses_per_s: service.callsPerS * IDS_PER_CALL,
        service_p50_ms: service.p50Ms,
        service_p99_ms: service.p99Ms,
        service_presence_cpu_s_per_1k_calls: (serviceCpu / service.count) * 1000,
        // The caller's side of the same calls (encode 100 ids, decode 100 statuses, grpc-js).
        service_client_cpu_s_per_1k_calls: (clientCpu / service.count) * 1000,
        service_1_in_flight_p50_ms: single.p50Ms,
        service_1_in_flight_p99_ms: single.p99Ms,
        within_target_max_in_flight: serviceWithin.inFlight,
        within_target_calls_per_s: serviceWithin.callsPerS,
        within_target_p99_ms: serviceWithin.p99Ms,
        grpc_floor_1_id_calls_per_s: floor.callsPerS,
        grpc_floor_1_id_p50_ms: floor.p50Ms,
        grpc_floor_1_id_p99_ms: floor.p99Ms,
        bare_http2_calls_per_s: h2.result.callsPerS,
        bare_http2_p50_ms: h2.result.p50Ms,
        bare_http2_p99_ms: h2.result.p99Ms,
        bare_http2_server_cpu_s_per_1k_calls: (h2.serverCpu / h2.result.count) * 1000,
        bare_http2_client_cpu_s_per_1k_calls: (h2.clientCpu / h2.result.count) * 1000,
        bare_http2_within_target_max_in_flight: h2.within.inFlight,
        bare_http2_within_target_p99_ms: h2.within.p99Ms,
        bare_http2_wide_window_calls_per_s: h2Wide.result.callsPerS,
        bare_http2_wide_window_p50_ms: h2Wide.result.p50Ms,
        bare_http2_wide_window_p99_ms: h2Wide.result.p99Ms,
        bare_http2_wide_window_within_target_max_in_flight: h2Wide.within.inFlight,
        bare_http2_wide_window_within_target_p99_ms: h2Wide.within.p99Ms,
        raw_kv_calls_per_s: raw.callsPerS,
        raw_kv_p50_ms: raw.p50Ms,
        raw_kv_p99_ms: raw.p99Ms,
        speedup: service.callsPerS / raw.callsPerS,
      },
      target: { text: `service p99 < ${TARGET_P99_MS} ms`, met: service.p99Ms < TARGET_P99_MS },
      notes: [
        `${USERS} users with statuses, ${IDS_PER_CALL} ids per call (a fifth unknown), one bearer token; client and presence share this machine's cores`,
        "raw = the same keys read with one JetStream KV get each (Promise.all per call), no cache",
        "grpc_floor = GetStatus of one id at the same concurrency: what any unary call costs here",
        "bare_http2 = the same request and response sizes over bare node:http2 (server in its own process answering a fixed gRPC-framed body, no gRPC library, no work): the transport's own latency at this concurrency",
        `bare_http2_wide_window = the same with ${WIDE_WINDOW_BYTES} B stream and connection flow-control windows on both sides instead of HTTP/2's default 65,535 B (grpc-js servers keep the default; ${IN_FLIGHT} calls of a few KB each exceed it)`,
        `within_target = the highest of 1, 2, 4, 8, 16 calls in flight whose p99 stayed under ${TARGET_P99_MS} ms, and its throughput`,
      ],
    };
  },
};
