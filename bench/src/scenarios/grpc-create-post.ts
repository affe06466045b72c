/**
 * grpc-create-post: CreatePost throughput and latency at 32 calls in flight against a real
 * PostgreSQL (a fresh database), beside the same transaction done with raw `pg` at 32
 * concurrent in the same run: lock and count the channel row, insert the post, insert the
 * outbox row, commit. The ratio is the price of the service (the gRPC hop, session check,
 * validation, event rendering, the relay draining the outbox) over the database work itself.
 *
 * - Each in-flight worker posts to its own channel, as concurrent users of a chat do; posts
 *   to one channel are serialized by design (per-channel event order), in both phases alike.
 * - The phases alternate in rounds, so load from anything else on the machine hits both.
 * - CPU is metered per transaction for each party (posts process, the client — this process —
 *   and this database's PostgreSQL backends), plus whatever else ran on the machine meanwhile:
 *   on a small machine the ratio is decided by CPU, and these figures say whose.
 * - A third phase sends CreatePost calls that fail validation (no database work): the cost of
 *   the gRPC hop and session check alone, the floor under any service call.
 * - The service runs on each gRPC server implementation (SB_RPC_SERVER: our own HTTP/2,
 *   @grpc/grpc-js's Server) in the same run: a block of rounds per implementation, each with a
 *   posts process of its own on the same database, the raw phases in every block.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import pg from "pg";
import { encodeEvent, subjects } from "@switchboard/bus";
import { AppError, newId } from "@switchboard/model";
import { AccountsService } from "@switchboard/proto/accounts";
import { CreatePostRequestSchema, CreatePostResponseSchema, PostsService } from "@switchboard/proto/posts";
import { createRpcClient, DEFAULT_RPC_SERVER_TRANSPORT, RPC_SERVER_TRANSPORTS, type RpcServerTransport } from "@switchboard/rpc";
import { createTestDatabase, spawnDeployable, startNatsServer, testClientTls, type ChildHandle } from "@switchboard/testkit";
import { closedLoop, percentile } from "../closed-loop.js";
import { connectLeanGrpc } from "../lean-grpc.js";
import { rawPostedEvent } from "../raw/pg-posts.js";
import { machineCpuSeconds, postgresCpuSeconds, processCpuSeconds } from "../proc-cpu.js";
import { cdfPoints } from "../results/chart-data.js";
import { profiledNodeArgs, timed, transportKey, type ChartSpec, type ResultRow, type Scenario, type ScenarioContext } from "../scenario.js";

const IN_FLIGHT = 32;
const TARGET_RATIO = 0.7;
const ROUNDS = 3;

interface Phase {
  readonly count: number;
  readonly seconds: number;
  readonly latencies: number[];
  /** CPU ms per call: posts process, client (this process), this database's backends, everything else. */
  readonly cpu: { posts: number; client: number; postgres: number; other: number };
}

function cpuSnapshot(postsPid: number, dbName: string) {
  const u = process.cpuUsage();
  return { posts: processCpuSeconds(postsPid), client: (u.user + u.system) / 1e6, postgres: postgresCpuSeconds(dbName), machine: machineCpuSeconds() };
}

/** Runs `op(worker, i)` in IN_FLIGHT loops for `durationMs`, timing each call and metering CPU. */
async function drive(durationMs: number, meter: () => ReturnType<typeof cpuSnapshot>, op: (worker: number, i: number) => Promise<void>): Promise<Phase> {
  const before = meter();
  const { latencies, seconds } = await closedLoop(IN_FLIGHT, durationMs, op);
  const after = meter();
  const perCall = (s: number) => (1000 * s) / Math.max(1, latencies.length);
  const posts = after.posts - before.posts;
  const client = after.client - before.client;
  const postgres = after.postgres - before.postgres;
  const other = after.machine - before.machine - posts - client - postgres;
  return {
    count: latencies.length,
    seconds,
    latencies,
    cpu: { posts: perCall(posts), client: perCall(client), postgres: perCall(postgres), other: perCall(Math.max(0, other)) },
  };
}

function merge(phases: readonly Phase[]) {
  const latencies = phases.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const seconds = phases.reduce((a, p) => a + p.seconds, 0);
  const cpu = (k: keyof Phase["cpu"]) => phases.reduce((a, p) => a + p.cpu[k] * p.count, 0) / Math.max(1, latencies.length);
  return {
    latencies,
    txPerS: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpu: { posts: cpu("posts"), client: cpu("client"), postgres: cpu("postgres"), other: cpu("other") },
  };
}

/** The raw transaction: the statements CreatePost runs for a root post, minus everything else. */
function rawCreatePost(pool: pg.Pool, channelId: string, teamId: string, userId: string): () => Promise<void> {
  return async () => {
    const c = await pool.connect();
    try {
      const now = Date.now();
      const id = newId();
      await c.query("BEGIN");
      const ch = await c.query<{ seq: string }>(
        `UPDATE channels SET seq = seq + 1, last_post_at = GREATEST(last_post_at, $2), total_msg_count = total_msg_count + 1,
           total_msg_count_root = total_msg_count_root + 1, last_root_post_at = GREATEST(last_root_post_at, $2)
         WHERE id = $1 RETURNING seq`,
        [channelId, now],
      );
      await c.query(
        `INSERT INTO posts (id, create_at, update_at, user_id, channel_id, message, props, file_ids, pending_post_id, metadata)
         VALUES ($1, $2, $2, $3, $4, $5, '{}', '{}', $6, '{}') ON CONFLICT (user_id, pending_post_id) WHERE pending_post_id <> '' DO NOTHING`,
        [id, now, userId, channelId, "raw bench message", `${userId}:${id}`],
      );
      const ev = rawPostedEvent({ id, channelId, teamId, userId, message: "raw bench message", channelSeq: BigInt(ch.rows[0]!.seq) });
      await c.query("INSERT INTO bench_outbox (event_id, subject, partition_key, payload, created_at) VALUES ($1, $2, $3, $4, $5)", [
        ev.id,
        subjects.channel(channelId),
        channelId,
        encodeEvent(ev),
        now,
      ]);
      await c.query("COMMIT");
    } catch (e: unknown) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  };
}

/**
 * The same change as one statement (what CreatePost does for a root post that names nobody),
 * straight from `pg`: the fairest floor for the service's own single statement.
 */
function rawOneStatement(pool: pg.Pool, channelId: string, teamId: string, userId: string): () => Promise<void> {
  const sql = `WITH c AS (SELECT id FROM channels WHERE id = $1 AND delete_at = 0 FOR UPDATE),
    ins AS (INSERT INTO posts (id, create_at, update_at, user_id, channel_id, message, props, file_ids, pending_post_id, metadata)
            SELECT $2, $3, $3, $4, c.id, $5, '{}', '{}', $6, '{}' FROM c
            ON CONFLICT (user_id, pending_post_id) WHERE pending_post_id <> '' DO NOTHING RETURNING id),
    upd AS (UPDATE channels SET seq = channels.seq + 1, last_post_at = GREATEST(channels.last_post_at, $3), total_msg_count = channels.total_msg_count + 1,
            total_msg_count_root = channels.total_msg_count_root + 1, last_root_post_at = GREATEST(channels.last_root_post_at, $3)
            FROM ins WHERE channels.id = $1 RETURNING channels.seq)
    INSERT INTO bench_outbox (event_id, subject, partition_key, payload, created_at) SELECT $7, $8, $1, $9, $3 FROM upd`;
  return async () => {
    const now = Date.now();
    const id = newId();
    const ev = rawPostedEvent({ id, channelId, teamId, userId, message: "raw bench message" });
    await pool.query({
      name: "bench_one_statement",
      text: sql,
      values: [channelId, id, now, userId, "raw bench message", `${userId}:${id}`, ev.id, subjects.channel(channelId), encodeEvent(ev)],
    });
  };
}

async function run(ctx: ScenarioContext) {
  const roundMs = Math.round((15_000 * ctx.scale) / ROUNDS);
  const warm = (ms: number) => Math.round(ms * Math.min(1, ctx.scale));
  const nats = await startNatsServer();
  const db = await createTestDatabase("sb_bench");
  const procs: ChildHandle[] = [];
  try {
    const base = { DATABASE_URL: db.url, SB_POD_NAME: "bench" };
    const accounts = await spawnDeployable("accounts", {
      ...nats.env("accounts"),
      ...base,
      SB_ACCOUNTS_GRPC_PORT: "0",
      SB_ACCOUNTS_OPS_PORT: "0",
      SB_ACCOUNTS_DB_POOL_SIZE: "4",
    });
    procs.push(accounts);
    const acc = createRpcClient(AccountsService, {
      address: `127.0.0.1:${String(accounts.ready.grpc_port)}`,
      defaultDeadlineMs: 10_000,
      tls: testClientTls("accounts"),
    });
    // Raw: the same statements straight from `pg`, on the schema the service created, into a
    // copy of the outbox table (same columns and indexes) that the service's relay leaves alone.
    // Idle connections stay open between phases: their backends (and the CPU they used) must
    // outlive the meter's before/after readings.
    const pool = new pg.Pool({ connectionString: db.url, max: IN_FLIGHT, idleTimeoutMillis: 0, options: "-c search_path=posts" });
    // An idle connection the server ends (a restart, another run's cleanup) must not take the
    // whole bench down: a phase that needs it fails on its own.
    pool.on("error", (e) => ctx.log(`raw pg: an idle connection ended: ${e.message}`));
    try {
      await acc.createUser({ username: "bench", email: "bench@example.com", password: "password-1" });
      const { token, user } = await acc.login({ loginId: "bench", password: "password-1" });
      const userId = user!.id;
      let setup: { teamId: string; channels: string[] } | undefined;
      const raw: Phase[] = [];
      const one: Phase[] = [];
      const blocks = new Map<RpcServerTransport, { service: Phase[]; viaGrpcJs: Phase[]; floor: Phase }>();
      // One block per gRPC server implementation, the default first: a posts process on it (one
      // at a time: two pools of IN_FLIGHT connections and the raw one would pass PostgreSQL's
      // 100 connections), its phases alternating in rounds with the raw ones.
      for (const transport of [DEFAULT_RPC_SERVER_TRANSPORT, ...RPC_SERVER_TRANSPORTS.filter((t) => t !== DEFAULT_RPC_SERVER_TRANSPORT)]) {
        const posts = await spawnDeployable(
          "posts",
          {
            ...nats.env("posts"),
            ...base,
            SB_RPC_SERVER: transport,
            SB_POSTS_GRPC_PORT: "0",
            SB_POSTS_OPS_PORT: "0",
            SB_POSTS_ACCOUNTS_ADDR: `127.0.0.1:${String(accounts.ready.grpc_port)}`,
            SB_POSTS_DB_POOL_SIZE: String(IN_FLIGHT),
          },
          profiledNodeArgs(),
        );
        procs.push(posts);
        if (posts.ready.grpc_server !== transport) throw new Error(`posts asked to serve on ${transport} serves on ${String(posts.ready.grpc_server)}`);
        const client = createRpcClient(PostsService, {
          address: `127.0.0.1:${String(posts.ready.grpc_port)}`,
          defaultDeadlineMs: 10_000,
          tls: testClientTls("posts"),
        });
        let closeLean = async (): Promise<void> => {};
        try {
          if (setup === undefined) {
            const team = (await client.createTeam({ name: "bench", displayName: "Bench", allowOpenInvite: true }, { token })).team!;
            const channels: string[] = [];
            for (let i = 0; i < IN_FLIGHT * 2; i++) {
              channels.push((await client.createChannel({ teamId: team.id, name: `bench-${i}`, displayName: `Bench ${i}` }, { token })).channel!.id);
            }
            await pool.query("CREATE TABLE bench_outbox (LIKE outbox INCLUDING ALL)");
            setup = { teamId: team.id, channels };
          }
          const { teamId, channels } = setup;
          const meter = () => cpuSnapshot(posts.pid, db.name);
          // The load generator's caller: hand-framed gRPC over node:http2, every answer checked
          // (lean-grpc.ts). The same calls through grpc-js are measured beside it.
          const lean = await connectLeanGrpc({ address: `127.0.0.1:${String(posts.ready.grpc_port)}`, token, tls: testClientTls("posts") });
          closeLean = () => lean.close();
          const createPostPath = `/${PostsService.typeName}/${PostsService.method.createPost.name}`;
          const postRequest = (w: number, i: number) => ({
            post: { channelId: channels[w]!, message: `bench message ${i}`, pendingPostId: `${userId}:${w}:${i}:${newId()}` },
            setOnline: true,
          });
          const servicePost = async (w: number, i: number) => {
            const request = create(CreatePostRequestSchema, postRequest(w, i));
            const { post } = fromBinary(CreatePostResponseSchema, await lean.unary(createPostPath, toBinary(CreatePostRequestSchema, request)));
            if (post === undefined || post.channelId !== channels[w] || post.id.length !== 26) throw new Error("CreatePost answered without the post");
          };
          const servicePostGrpcJs = async (w: number, i: number) => {
            await client.createPost(postRequest(w, i), { token });
          };
          const ops = channels.slice(IN_FLIGHT).map((ch) => rawCreatePost(pool, ch, teamId, userId));
          const rawPost = (w: number) => ops[w]!();
          const oneOps = channels.slice(IN_FLIGHT).map((ch) => rawOneStatement(pool, ch, teamId, userId));
          const rawOne = (w: number) => oneOps[w]!();
          const rejected = async () => {
            const r = await client.createPost({ post: { channelId: "not-an-id", message: "x" } }, { token }).catch((e: unknown) => e);
            if (!(r instanceof AppError) || r.code !== "invalid_argument") throw new Error(`expected INVALID_ARGUMENT, got ${String(r)}`);
          };

          ctx.log(`posts on ${transport}: warming up, then ${ROUNDS} alternating rounds of ${roundMs} ms per phase, ${IN_FLIGHT} in flight`);
          await timed(ctx, `warm-up service (posts on ${transport})`, warm(3_000), () => drive(warm(3_000), meter, servicePost));
          await timed(ctx, `warm-up raw pg (posts on ${transport})`, warm(2_000), () => drive(warm(2_000), meter, rawPost));
          await timed(ctx, `warm-up raw pg one statement (posts on ${transport})`, warm(2_000), () => drive(warm(2_000), meter, rawOne));
          await timed(ctx, `warm-up service via grpc-js (posts on ${transport})`, warm(2_000), () => drive(warm(2_000), meter, servicePostGrpcJs));
          const service: Phase[] = [];
          const viaGrpcJs: Phase[] = [];
          const rate = (p: Phase) => (p.count / p.seconds).toFixed(0);
          for (let r = 0; r < ROUNDS; r++) {
            const s = await timed(ctx, `round ${r + 1} service (posts on ${transport})`, roundMs, () => drive(roundMs, meter, servicePost));
            const rw = await timed(ctx, `round ${r + 1} raw pg (posts on ${transport})`, roundMs, () => drive(roundMs, meter, rawPost));
            const o = await timed(ctx, `round ${r + 1} raw pg one statement (posts on ${transport})`, roundMs, () => drive(roundMs, meter, rawOne));
            const g = await timed(ctx, `round ${r + 1} service via grpc-js (posts on ${transport})`, roundMs, () => drive(roundMs, meter, servicePostGrpcJs));
            service.push(s);
            raw.push(rw);
            one.push(o);
            viaGrpcJs.push(g);
            ctx.log(
              `round ${r + 1} (posts on ${transport}): service ${rate(s)} tx/s, raw ${rate(rw)} tx/s, raw one statement ${rate(o)} tx/s, service via grpc-js ${rate(g)} tx/s`,
            );
          }
          blocks.set(transport, {
            service,
            viaGrpcJs,
            floor: await timed(ctx, `gRPC floor (posts on ${transport})`, roundMs, () => drive(roundMs, meter, rejected)),
          });
        } finally {
          await closeLean();
          client.close();
          await posts.stop();
        }
      }
      const main = blocks.get(DEFAULT_RPC_SERVER_TRANSPORT)!;
      const byTransport = new Map([...blocks].map(([t, b]) => [t, { service: merge(b.service), grpcJs: merge(b.viaGrpcJs) }] as const));
      return { service: merge(main.service), byTransport, raw: merge(raw), one: merge(one), grpcJs: merge(main.viaGrpcJs), floor: merge([main.floor]) };
    } finally {
      acc.close();
      await pool.end();
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await db.drop();
    await nats.stop();
  }
}

export const scenario: Scenario = {
  name: "grpc-create-post",
  description: `CreatePost over gRPC at ${IN_FLIGHT} in flight vs the same transaction with raw pg, same PostgreSQL, same run`,
  async run(ctx) {
    const { service, byTransport, raw, one, grpcJs, floor } = await run(ctx);
    // Each gRPC server implementation's figures: the reason for keeping our own HTTP/2, or not.
    const serverFigures: Record<string, number> = {};
    for (const [t, m] of byTransport) {
      const k = `${transportKey(t)}_server_`;
      Object.assign(serverFigures, {
        [`${k}tx_per_s`]: m.service.txPerS,
        [`${k}p50_ms`]: m.service.p50Ms,
        [`${k}p99_ms`]: m.service.p99Ms,
        [`${k}cpu_ms_per_call_posts`]: m.service.cpu.posts,
        [`${k}grpc_js_caller_tx_per_s`]: m.grpcJs.txPerS,
        [`${k}grpc_js_caller_p99_ms`]: m.grpcJs.p99Ms,
      });
    }
    serverFigures.h2_over_grpc_js_server = byTransport.get("h2")!.service.txPerS / byTransport.get("grpc-js")!.service.txPerS;
    const ratio = service.txPerS / raw.txPerS;
    // What the report draws: each party's merged rounds, Switchboard beside its baselines.
    const parties = [
      { subject: `Switchboard posts (${DEFAULT_RPC_SERVER_TRANSPORT} server, lean caller)`, peer: false, m: service },
      { subject: `Switchboard posts (${DEFAULT_RPC_SERVER_TRANSPORT} server, grpc-js caller)`, peer: false, m: grpcJs },
      { subject: "raw pg transaction", peer: true, m: raw },
      { subject: "raw pg one statement", peer: true, m: one },
    ];
    const rows: ResultRow[] = parties.map(({ subject, peer, m }) => ({
      label: `${ROUNDS} rounds`,
      subject,
      peer,
      values: { tx_per_s: m.txPerS, p50_ms: m.p50Ms, p99_ms: m.p99Ms, cpu_ms_per_call_posts: m.cpu.posts, cpu_ms_per_call_postgres: m.cpu.postgres },
    }));
    const charts: ChartSpec[] = [
      {
        title: `CreatePost transactions per second, ${IN_FLIGHT} in flight`,
        kind: "bar",
        xLabel: "",
        yLabel: "tx / s",
        labels: ["CreatePost"],
        series: parties.map((p) => ({ label: p.subject, data: [p.m.txPerS] })),
      },
      {
        title: "Latency per call (CDF)",
        kind: "cdf",
        xLabel: "ms",
        yLabel: "fraction of calls",
        series: parties.map((p) => ({ label: p.subject, data: cdfPoints(p.m.latencies) })),
      },
    ];
    const cpuFigures = (prefix: string, c: typeof service.cpu, txPerS: number) => ({
      // How much of the machine the phase kept busy: below the core count, it waited on something.
      [`${prefix}_cores_busy`]: ((c.posts + c.client + c.postgres + c.other) * txPerS) / 1000,
      [`${prefix}_cpu_ms_per_call_posts`]: c.posts,
      [`${prefix}_cpu_ms_per_call_client`]: c.client,
      [`${prefix}_cpu_ms_per_call_postgres`]: c.postgres,
      [`${prefix}_cpu_ms_per_call_other_processes`]: c.other,
    });
    return {
      figures: {
        service_tx_per_s: service.txPerS,
        service_p50_ms: service.p50Ms,
        service_p99_ms: service.p99Ms,
        raw_tx_per_s: raw.txPerS,
        raw_p50_ms: raw.p50Ms,
        raw_p99_ms: raw.p99Ms,
        ratio,
        raw_one_statement_tx_per_s: one.txPerS,
        ratio_vs_raw_one_statement: service.txPerS / one.txPerS,
        ...serverFigures,
        // The same CreatePost calls made through @grpc/grpc-js (as Switchboard's own
        // components call each other): that library's client costs land on the same cores.
        service_grpc_js_caller_tx_per_s: grpcJs.txPerS,
        service_grpc_js_caller_p50_ms: grpcJs.p50Ms,
        service_grpc_js_caller_p99_ms: grpcJs.p99Ms,
        ratio_grpc_js_caller: grpcJs.txPerS / raw.txPerS,
        // Where PostgreSQL has CPUs of its own (its own node, as deployed), both phases are
        // bound by its CPU per transaction instead of the machine's: this is the ratio then.
        ratio_if_postgres_bound: raw.cpu.postgres / service.cpu.postgres,
        grpc_floor_calls_per_s: floor.txPerS,
        grpc_floor_p50_ms: floor.p50Ms,
        ...cpuFigures("service", service.cpu, service.txPerS),
        ...cpuFigures("raw", raw.cpu, raw.txPerS),
        ...cpuFigures("raw_one_statement", one.cpu, one.txPerS),
        ...cpuFigures("service_grpc_js_caller", grpcJs.cpu, grpcJs.txPerS),
        ...cpuFigures("grpc_floor", floor.cpu, floor.txPerS),
      },
      rows,
      charts,
      target: { text: `service >= ${TARGET_RATIO * 100}% of raw pg throughput`, met: ratio >= TARGET_RATIO },
      notes: [
        `service_*: posts on the default gRPC server (${DEFAULT_RPC_SERVER_TRANSPORT}); <h2|grpc_js>_server_*: the same calls to a posts process on each implementation, a block of rounds each in the same run, raw phases in every block (h2_over_grpc_js_server: their throughput ratio)`,
        `${IN_FLIGHT} in flight, one channel per worker, a unique pending_post_id per post; the posts process relays its outbox to JetStream during its phases`,
        "service: CreatePost from a load generator's caller (gRPC framed by hand over node:http2, every answer's status and post checked), so that the client library's own CPU does not take the shared cores from the service and PostgreSQL; service_grpc_js_caller: the same calls through @grpc/grpc-js",
        "raw pg: the transaction as a pg user writes it (BEGIN, UPDATE, INSERT, INSERT, COMMIT, unnamed statements) — the target's baseline; the service writes a root post that names nobody in one prepared statement",
        "raw one statement: the same change as one prepared statement from pg, reported beside (ratio_vs_raw_one_statement)",
        "grpc_floor: CreatePost calls rejected by validation after the session check, no database work",
      ],
    };
  },
};
