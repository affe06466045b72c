/**
 * rest-posts: REST post creation (`POST /api/v4/posts`) and a channel's first page of posts
 * (`GET /api/v4/channels/{id}/posts`) through the gateway, full stack, under autocannon
 * (http-load/), beside the same writes and reads with raw `pg` running the posts service's own
 * statements (raw/pg-posts.ts), at the same concurrency, on the same database, in the same run.
 * The ratio is what the whole path (HTTP parsing, session check, the gRPC hop to posts,
 * validation, event rendering, the JSON answer) costs over the database work itself.
 *
 * - Each connection (and each raw worker) writes to and reads its own channel, as its own user:
 *   posts to one channel are serialised by design, in both parties alike.
 * - The phases alternate in rounds (gateway writes, raw writes, gateway reads, raw reads), and
 *   each ratio is the median of the rounds (stable-ratio.ts), so load from anything else on the
 *   machine hits both.
 * - Every answer is checked: a gateway phase with any non-2xx answer or connection error is a
 *   failed row, and so is a write phase whose 2xx answers are not the posts PostgreSQL gained in
 *   it (counted before and after); raw writes throw unless they wrote one row, raw reads unless
 *   the reader may read the channel and its page has posts.
 */
import pg from "pg";
import { seedPopulation } from "@switchboard/testkit";
import { closedLoop, percentile } from "../closed-loop.js";
import { latencyAt, runHttpLoad, type HttpLoadRequest, type HttpLoadResult } from "../http-load/http-load.js";
import { startLoadStack } from "../load-stack.js";
import { pinToCpu } from "../proc-cpu.js";
import { createBenchOutbox, rawReadPosts, rawWritePost } from "../raw/pg-posts.js";
import { cdfPoints } from "../results/chart-data.js";
import { profiledNodeArgs, timed, type ChartSpec, type ResultRow, type Scenario, type ScenarioContext } from "../scenario.js";
import { median } from "../stable-ratio.js";

const SERVER_CPU = 0;
const LOAD_CPU = 1;
const CONNECTIONS = 16;
const ROUNDS = 3;
/** Mattermost's default page size for a channel's posts (the webapp asks for 60). */
const PER_PAGE = 60;
const GATEWAY = "Switchboard, REST through the gateway (autocannon)";
const RAW = "raw pg, the service's statements";

type Op = "write" | "read";
const OPS: Record<Op, string> = { write: "POST /api/v4/posts", read: "GET /api/v4/channels/{id}/posts" };

interface Measured {
  readonly row: ResultRow;
  readonly perS: number;
  /** [ms, fraction] for the CDF chart. */
  readonly cdf: [number, number][];
}

function gatewayRow(op: Op, round: number, r: HttpLoadResult, failed: string | undefined): Measured {
  const perS = r.ok / r.seconds;
  const values = {
    requests_per_s: perS,
    requests: r.requests,
    p50_ms: latencyAt(r, 50),
    p90_ms: latencyAt(r, 90),
    p99_ms: latencyAt(r, 99),
    p99_9_ms: latencyAt(r, 99.9),
    max_ms: r.latencyMs.max,
  };
  const label = `${OPS[op]}, round ${String(round)}`;
  return {
    row: failed ? { label, subject: GATEWAY, peer: false, values: {}, failed } : { label, subject: GATEWAY, peer: false, values },
    perS,
    cdf: r.latencyMs.percentiles.map(([p, ms]) => [ms, p / 100]),
  };
}

function rawRow(op: Op, round: number, latencies: number[], seconds: number): Measured {
  const perS = latencies.length / seconds;
  return {
    row: {
      label: `${OPS[op]}, round ${String(round)}`,
      subject: RAW,
      peer: true,
      values: {
        requests_per_s: perS,
        requests: latencies.length,
        p50_ms: percentile(latencies, 50),
        p90_ms: percentile(latencies, 90),
        p99_ms: percentile(latencies, 99),
        p99_9_ms: percentile(latencies, 99.9),
        max_ms: latencies.at(-1) ?? 0,
      },
    },
    perS,
    cdf: cdfPoints(latencies),
  };
}

/**
 * Why a gateway phase fails, or undefined: any answer but 2xx, any connection error, and for
 * writes, 2xx answers that are not the posts stored. autocannon stops at its duration without
 * waiting for the requests in flight (one per connection), whose posts are stored unanswered:
 * up to `connections` more posts than 201s is whole; fewer, or more, is not.
 */
export function checkHttpPhase(r: HttpLoadResult, stored?: number): string | undefined {
  const faults: string[] = [];
  if (r.non2xx > 0) faults.push(`${String(r.non2xx)} non-2xx answers (${JSON.stringify(r.statuses)})`);
  if (r.errors > 0) faults.push(`${String(r.errors)} connection errors (${String(r.timeouts)} timeouts)`);
  if (r.ok === 0) faults.push("no 2xx answer");
  if (stored !== undefined && (stored < r.ok || stored > r.ok + CONNECTIONS)) {
    faults.push(`${String(r.ok)} posts answered 201 but ${String(stored)} stored (at most ${String(CONNECTIONS)} more, in flight at the end, are whole)`);
  }
  return faults.length > 0 ? faults.join("; ") : undefined;
}

async function run(ctx: ScenarioContext) {
  const roundMs = ctx.quick ? 3_000 : Math.round(10_000 * ctx.scale);
  const stack = await startLoadStack({ gatewayNodeArgs: profiledNodeArgs() });
  const pool = new pg.Pool({ connectionString: stack.db.url, max: CONNECTIONS, idleTimeoutMillis: 0, options: "-c search_path=posts" });
  // An idle connection the server ends (a restart, another run's cleanup) must not take the
  // whole bench down: a phase that needs it fails on its own.
  pool.on("error", (e) => ctx.log(`raw pg: an idle connection ended: ${e.message}`));
  try {
    ctx.log(`seeding ${String(CONNECTIONS)} users, each the member of a channel of its own`);
    const pop = await seedPopulation({
      databaseUrl: stack.db.url,
      postsAddr: stack.addrs.posts,
      users: CONNECTIONS,
      channels: CONNECTIONS,
      membersPerChannel: 1,
    });
    const byId = new Map(pop.users.map((u) => [u.id, u]));
    const workers = pop.channels.map((ch) => {
      const user = byId.get(ch.memberIds.find((id) => byId.has(id))!)!;
      return { channelId: ch.id, user };
    });
    for (const pid of [stack.accounts.pid, stack.posts.pid, stack.presence.pid, ...stack.gateways.map((g) => g.pid), stack.nats.pid]) {
      if (pid !== undefined) pinToCpu(pid, SERVER_CPU);
    }
    await createBenchOutbox(pool);
    const url = stack.gatewayUrls[0]!;
    const auth = (token: string) => ({ Authorization: `Bearer ${token}`, "Content-Type": "application/json" });
    const requests: Record<Op, HttpLoadRequest[]> = {
      write: workers.map((w) => ({
        method: "POST",
        path: "/api/v4/posts",
        headers: auth(w.user.token),
        body: JSON.stringify({ channel_id: w.channelId, message: "rest-posts bench message" }),
      })),
      read: workers.map((w) => ({
        method: "GET",
        path: `/api/v4/channels/${w.channelId}/posts?page=0&per_page=${String(PER_PAGE)}`,
        headers: auth(w.user.token),
      })),
    };
    const raw: Record<Op, (() => Promise<void>)[]> = {
      write: workers.map((w) => rawWritePost(pool, { channelId: w.channelId, teamId: pop.teamId, userId: w.user.id, message: "rest-posts raw message" })),
      read: workers.map((w) => rawReadPosts(pool, { channelId: w.channelId, userId: w.user.id, perPage: PER_PAGE })),
    };
    const posts = async () => Number((await pool.query<{ n: string }>("SELECT count(*) AS n FROM posts")).rows[0]!.n);
    const gateway = async (op: Op, round: number, durationMs: number): Promise<Measured> => {
      const before = op === "write" ? await posts() : 0;
      const r = await timed(ctx, `${OPS[op]} round ${String(round)}: gateway`, durationMs, () =>
        runHttpLoad({ url, connections: CONNECTIONS, durationMs, requests: requests[op], cpu: LOAD_CPU }),
      );
      return gatewayRow(op, round, r, checkHttpPhase(r, op === "write" ? (await posts()) - before : undefined));
    };
    const rawPhase = async (op: Op, round: number, durationMs: number): Promise<Measured> => {
      const { latencies, seconds } = await timed(ctx, `${OPS[op]} round ${String(round)}: raw pg`, durationMs, () =>
        closedLoop(CONNECTIONS, durationMs, (w) => raw[op][w]!()),
      );
      return rawRow(op, round, latencies, seconds);
    };

    // Warm-up: the first writes give every channel a page to read; JIT and pools warm on both sides.
    const warmMs = Math.min(2_000, roundMs);
    await gateway("write", 0, warmMs);
    await rawPhase("write", 0, warmMs);
    await gateway("read", 0, warmMs);
    await rawPhase("read", 0, warmMs);
    const measured: Record<Op, { gateway: Measured[]; raw: Measured[] }> = { write: { gateway: [], raw: [] }, read: { gateway: [], raw: [] } };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const op of ["write", "read"] as const) {
        const g = await gateway(op, round, roundMs);
        const r = await rawPhase(op, round, roundMs);
        measured[op].gateway.push(g);
        measured[op].raw.push(r);
        ctx.log(
          g.row.failed
            ? `${OPS[op]} round ${String(round)}: gateway FAILED: ${g.row.failed}`
            : `${OPS[op]} round ${String(round)}: gateway ${g.perS.toFixed(0)}/s (p99 ${String(g.row.values.p99_ms)} ms), raw pg ${r.perS.toFixed(0)}/s (p99 ${r.row.values.p99_ms!.toFixed(1)} ms)`,
        );
      }
    }
    return measured;
  } finally {
    await pool.end();
    await stack.stop();
  }
}

export const scenario: Scenario = {
  name: "rest-posts",
  description: `autocannon on POST /api/v4/posts and GET /api/v4/channels/{id}/posts through the gateway, ${String(CONNECTIONS)} connections, vs the service's statements with raw pg`,
  async run(ctx) {
    const measured = await run(ctx);
    const rows: ResultRow[] = [];
    const figures: Record<string, number> = {};
    const charts: ChartSpec[] = [];
    const notes: string[] = [];
    let complete = true;
    const throughput: Record<Op, { gateway: number; raw: number }> = { write: { gateway: 0, raw: 0 }, read: { gateway: 0, raw: 0 } };
    for (const op of ["write", "read"] as const) {
      const { gateway, raw } = measured[op];
      rows.push(...gateway.map((m) => m.row), ...raw.map((m) => m.row));
      if (gateway.some((m) => m.row.failed)) {
        complete = false;
        continue;
      }
      const ratios = gateway.map((g, i) => g.perS / raw[i]!.perS);
      const med = (pick: (m: Measured) => number, of: Measured[]) => median(of.map(pick));
      throughput[op] = { gateway: med((m) => m.perS, gateway), raw: med((m) => m.perS, raw) };
      Object.assign(figures, {
        [`${op}_gateway_per_s`]: throughput[op].gateway,
        [`${op}_gateway_p50_ms`]: med((m) => m.row.values.p50_ms!, gateway),
        [`${op}_gateway_p99_ms`]: med((m) => m.row.values.p99_ms!, gateway),
        [`${op}_gateway_p99_9_ms`]: med((m) => m.row.values.p99_9_ms!, gateway),
        [`${op}_raw_pg_per_s`]: throughput[op].raw,
        [`${op}_raw_pg_p50_ms`]: med((m) => m.row.values.p50_ms!, raw),
        [`${op}_raw_pg_p99_ms`]: med((m) => m.row.values.p99_ms!, raw),
        [`${op}_ratio`]: median(ratios),
        [`${op}_ratio_min`]: Math.min(...ratios),
        [`${op}_ratio_max`]: Math.max(...ratios),
      });
      notes.push(
        `${OPS[op]}: gateway/raw pg ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} over ${String(ratios.length)} alternating rounds)`,
      );
      const last = gateway.length - 1;
      charts.push({
        title: `${OPS[op]}: latency per request (CDF, last round)`,
        kind: "cdf",
        xLabel: "ms",
        yLabel: "fraction of requests",
        series: [
          { label: GATEWAY, data: gateway[last]!.cdf },
          { label: RAW, data: raw[last]!.cdf },
        ],
      });
    }
    charts.unshift({
      title: `Requests per second, ${String(CONNECTIONS)} connections (median of ${String(ROUNDS)} rounds)`,
      kind: "bar",
      xLabel: "",
      yLabel: "requests / s",
      labels: [OPS.write, OPS.read],
      series: [
        { label: GATEWAY, data: [throughput.write.gateway, throughput.read.gateway] },
        { label: RAW, data: [throughput.write.raw, throughput.read.raw] },
      ],
    });
    return {
      figures,
      rows,
      charts,
      target: { text: "report the ratio (no target): every gateway answer 2xx, every 201 a stored post", met: complete },
      notes: [
        ...notes,
        `full stack: gateway, NATS, posts, presence and accounts share CPU ${String(SERVER_CPU)}; autocannon runs in a process of its own on CPU ${String(LOAD_CPU)}; PostgreSQL is the machine's own server, not pinned; the raw pg phases run from the bench process (unpinned), ${String(CONNECTIONS)} pooled connections`,
        "raw pg: posts' one-statement write of a root post that names nobody (channel locked if live and the author a member, post, counters, author's read state, the event into a copy of the outbox), and getPosts' reads (access, page of 61, the ids before and after it), as prepared statements; not the gateway's session check, accounts' user lookup or the relay's publish",
        `each connection its own user and channel; reads ask for page 0 of ${String(PER_PAGE)} posts of a channel the writes filled`,
      ],
    };
  },
};
