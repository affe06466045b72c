/**
 * slow-consumer: 1 % of the clients stop reading while posts flow. The gateway must close them
 * with the documented code (4002: held at the byte budget, SB_GATEWAY_MAX_BUFFERED_BYTES, with
 * events waiting for 5 s; docs/protocol.md §6) rather than buffer for them without bound, and
 * the other 99 % must keep their latency: their p99 within 10 % of a run without the slow ones.
 *
 * - Every client is in one channel (the team's town-square) that gets small posts over REST,
 *   open loop; the healthy clients' latency is measured as in fanout-latency (posted-latency.ts,
 *   completeness by pending_post_id in the server's order).
 * - The slow clients' users are also in a second channel that gets large posts (16,000
 *   characters, the webapp's limit is 16,383) at a steady rate, so that a socket that stops
 *   reading reaches its budget within seconds, as a real one would under a busy channel. The
 *   healthy clients are not in it.
 * - Rounds alternate: without the 1 % (not connected; the same posts are sent) and with them
 *   (they connect, then stop reading as the busy channel's posts start, 20 s before the
 *   measured ones, so that they stall and are closed while the others are measured). A fresh
 *   set of slow clients connects for each "with" round.
 * - The gateway's sb_gateway_slow_closes_total and RSS are read every half second. Once the
 *   count covers every slow client, they read again at once: each must find, after what was
 *   buffered, a close frame with 4002.
 */
import { seedPopulation } from "@switchboard/testkit";
import { percentile } from "../closed-loop.js";
import { settle, startLoadStack } from "../load-stack.js";
import { openLoop, sendCount } from "../open-loop.js";
import { measurePostedLatency, type PostedLatency } from "../posted-latency.js";
import { pinToCpu, processRssBytes } from "../proc-cpu.js";
import { createPostOverRest } from "../rest-post.js";
import { cdfPoints } from "../results/chart-data.js";
import { profiledNodeArgs, timed, type ChartSpec, type ResultRow, type Scenario, type ScenarioContext } from "../scenario.js";
import { scrapeSamples } from "../scrape.js";
import { median, stableRatio } from "../stable-ratio.js";
import { startLoadClient, type LoadClient } from "../ws-load/load-client-pool.js";

const SERVER_CPU = 0;
const LOAD_CPU = 1;
const ROUNDS = 3;
/** Posts per second into the channel everyone is in (measured), and into the slow clients' busy channel. */
const MAIN_RATE = 2;
const BUSY_RATE = 20;
const BUSY_MESSAGE = "x".repeat(16_000);
const HEALTHY_USERS = 100;
/** The slow clients' p99 may raise the others' by this factor at most (the 10 %). */
const TARGET_FACTOR = 1.1;
const SLOW_CLOSE_CODE = 4002;
/** How long after the posts stop the slow clients may take to be closed (5 s at the budget, plus the time to reach it). */
const CLOSE_DEADLINE_MS = 30_000;

export interface Round {
  readonly latency: PostedLatency;
  readonly peakRssBytes: number;
  /** "with" rounds: slow closes the gateway counted, how long after the pause the last came, close codes the slow clients read, stalled sockets left. */
  readonly slowClosed?: number;
  readonly closedAfterS?: number;
  /** The last slow close came while the others were being measured. */
  readonly closedInWindow?: boolean;
  readonly codes?: Readonly<Record<string, number>>;
  readonly stalledAfter?: number;
}

/**
 * What went wrong with the slow clients in the "with" rounds: one the gateway did not close,
 * one that read any other close than 4002 (or none), a socket left stalled.
 */
export function slowRoundFaults(rounds: readonly Pick<Round, "slowClosed" | "codes" | "stalledAfter">[], slow: number): string[] {
  const faults: string[] = [];
  for (const [i, w] of rounds.entries()) {
    const round = `round ${String(i + 1)}`;
    if ((w.slowClosed ?? 0) < slow) faults.push(`${round}: ${String(w.slowClosed ?? 0)} of ${String(slow)} slow clients closed by the gateway`);
    if ((w.codes?.[String(SLOW_CLOSE_CODE)] ?? 0) !== slow) faults.push(`${round}: close codes read ${JSON.stringify(w.codes ?? {})}`);
    if (w.stalledAfter !== 0) faults.push(`${round}: ${String(w.stalledAfter)} sockets still stalled`);
  }
  return faults;
}

async function waitUntil(deadlineMs: number, f: () => Promise<boolean>): Promise<boolean> {
  const end = performance.now() + deadlineMs;
  while (performance.now() < end) {
    if (await f()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return f();
}

async function run(ctx: ScenarioContext) {
  const clients = ctx.quick ? 2_000 : 10_000;
  const slow = clients / 100;
  const durationMs = ctx.quick ? 15_000 : Math.round(30_000 * ctx.scale);
  // The busy channel's posts start this long before the measured ones: a socket that stopped
  // reading takes about this long to fill the kernel's buffers (here up to 4 MiB a side on
  // loopback) and its 1 MiB budget, so that it stalls, and is closed, while the others are measured.
  const fillMs = 20_000;
  const stack = await startLoadStack({ gatewayNodeArgs: profiledNodeArgs() });
  const rounds: { without: Round[]; with: Round[] } = { without: [], with: [] };
  let healthy: LoadClient | undefined;
  try {
    ctx.log(`seeding ${String(slow + HEALTHY_USERS)} users: ${String(slow)} slow ones in a busy channel of their own, everyone in town-square`);
    const pop = await seedPopulation({
      databaseUrl: stack.db.url,
      postsAddr: stack.addrs.posts,
      users: slow + HEALTHY_USERS,
      channels: 1,
      membersPerChannel: slow,
    });
    const main = pop.everyone;
    const busy = pop.channels[0]!;
    const slowUsers = pop.users.slice(0, slow);
    if (!slowUsers.every((u) => busy.memberIds.includes(u.id)) || busy.memberIds.length !== slow + 1)
      throw new Error("the busy channel's members are not the slow users");
    const healthyUsers = pop.users.slice(slow);
    const url = stack.gatewayUrls[0]!;
    const port = Number(new URL(url).port);
    const gateway = stack.gateways[0]!;
    const metrics = `http://127.0.0.1:${String(gateway.ready.ops_port)}/metrics`;
    for (const pid of [stack.accounts.pid, stack.posts.pid, stack.presence.pid, gateway.pid, stack.nats.pid]) if (pid !== undefined) pinToCpu(pid, SERVER_CPU);
    const ws = { host: "127.0.0.1", port, path: "/api/v4/websocket" };
    healthy = await startLoadClient({ cpu: LOAD_CPU });
    await healthy.open({
      ...ws,
      headers: Array.from({ length: clients - slow }, (_, i) => ({ Authorization: `Bearer ${healthyUsers[i % HEALTHY_USERS]!.token}` })),
    });
    const poster = pop.admin.token;
    const count = sendCount(MAIN_RATE, durationMs);
    const slots = Array.from({ length: slow }, (_, i) => i);

    for (let r = 1; r <= ROUNDS; r++) {
      for (const mode of ["without", "with"] as const) {
        // Without: the slow clients are not there at all. With: they connect, and stop reading.
        const slowClient = mode === "with" ? await startLoadClient({ cpu: LOAD_CPU }) : undefined;
        try {
          if (slowClient) {
            await slowClient.open({ ...ws, headers: slowUsers.map((u) => ({ Authorization: `Bearer ${u.token}` })) });
            await settle(slowClient);
          }
          await settle(healthy);
          const closesBefore = (await scrapeSamples(metrics))("sb_gateway_slow_closes_total") || 0;
          let peakRss = processRssBytes(gateway.pid);
          // The gateway's RSS, and when its count of slow closes reached every slow client.
          let closedAt = NaN;
          let slowClosed = 0;
          const sample = async () => {
            peakRss = Math.max(peakRss, processRssBytes(gateway.pid));
            slowClosed = ((await scrapeSamples(metrics))("sb_gateway_slow_closes_total") || 0) - closesBefore;
            if (slowClient && slowClosed >= slow && Number.isNaN(closedAt)) {
              closedAt = performance.now();
              // Read again at once: what was buffered, then the close frame. (A socket that stays
              // unread for seconds after its close is reset by the gateway: 1006, no code.)
              await slowClient.resume(slots);
            }
          };
          const sampler = setInterval(() => void sample().catch(() => undefined), 500);
          await slowClient?.pause(slots);
          const pausedAt = performance.now();
          let measuredFrom = NaN;
          const busyLoop = openLoop({
            ratePerS: BUSY_RATE,
            count: sendCount(BUSY_RATE, fillMs + durationMs),
            send: () => createPostOverRest(url, poster, { channel_id: busy.id, message: BUSY_MESSAGE }),
          });
          let latency: PostedLatency;
          try {
            await timed(ctx, `round ${String(r)}, ${mode}: the busy channel fills the slow sockets`, fillMs, () => new Promise((f) => setTimeout(f, fillMs)));
            measuredFrom = (performance.now() - pausedAt) / 1000;
            latency = await measurePostedLatency(ctx, {
              label: `round ${String(r)}, ${mode} ${String(slow)} slow clients`,
              subject: `Switchboard, the ${String(clients - slow)} others`,
              peer: mode === "without",
              client: healthy,
              members: clients - slow,
              postsPerS: MAIN_RATE,
              count,
              byPendingId: true,
              order: "agreed",
              send: (i, id) => createPostOverRest(url, poster, { channel_id: main.id, message: `slow-consumer ${String(i)}`, pending_post_id: id }),
            });
          } finally {
            await busyLoop;
          }
          const measuredTo = (performance.now() - pausedAt) / 1000;
          if (!slowClient) {
            clearInterval(sampler);
            rounds.without.push({ latency, peakRssBytes: peakRss });
            continue;
          }
          await waitUntil(CLOSE_DEADLINE_MS, async () => {
            await sample();
            return slowClosed >= slow;
          });
          clearInterval(sampler);
          const closedAfterS = (closedAt - pausedAt) / 1000;
          const stalledAfter = (await scrapeSamples(metrics))("sb_gateway_stalled_sockets");
          // Those the gateway did not close are read again too, to see what they hold.
          await slowClient.resume(slots);
          const codes: Record<string, number> = {};
          await waitUntil(10_000, async () => (await slowClient.report()).conns.every((c) => c.closes.length > 0));
          for (const c of (await slowClient.report()).conns) {
            const code = String(c.closes[0]?.code ?? "open");
            codes[code] = (codes[code] ?? 0) + 1;
          }
          ctx.log(
            `round ${String(r)}: ${String(slowClosed)} of ${String(slow)} slow clients closed by the gateway, the last ${closedAfterS.toFixed(1)} s after they stopped reading (the others measured from ${measuredFrom.toFixed(1)} s to ${measuredTo.toFixed(1)} s); codes read ${JSON.stringify(codes)}; stalled sockets left ${String(stalledAfter)}; gateway peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
          );
          rounds.with.push({
            latency,
            peakRssBytes: peakRss,
            slowClosed,
            closedAfterS,
            closedInWindow: closedAfterS >= measuredFrom && closedAfterS <= measuredTo,
            codes,
            stalledAfter,
          });
        } finally {
          await slowClient?.close();
        }
      }
    }
    return { rounds, clients, slow, durationMs, fillMs };
  } finally {
    await healthy?.close();
    await stack.stop();
  }
}

export const scenario: Scenario = {
  name: "slow-consumer",
  description: `1 % of the clients stop reading while posts flow: closed with ${String(SLOW_CLOSE_CODE)}, the others' p99 within 10 % of a run without them`,
  async run(ctx) {
    const { rounds, clients, slow, durationMs, fillMs } = await run(ctx);
    const all = [...rounds.without, ...rounds.with];
    const rows: ResultRow[] = [];
    rounds.without.forEach((w, i) => rows.push(w.latency.row, rounds.with[i]!.latency.row));
    const complete = all.every((r) => !r.latency.row.failed);
    const faults = slowRoundFaults(rounds.with, slow);
    const figures: Record<string, number> = { clients, slow_clients: slow };
    const notes: string[] = [];
    let met = complete && faults.length === 0;
    if (complete) {
      const p = (rs: Round[], q: number) => median(rs.map((r) => percentile(r.latency.perDelivery, q)));
      // Higher is better for stableRatio: the p99 without the slow clients over the p99 with them.
      const ratio = stableRatio(
        rounds.without.map((r) => r.latency.p99Ms),
        rounds.with.map((r) => r.latency.p99Ms),
        1 / TARGET_FACTOR,
      );
      met &&= ratio.median >= 1 / TARGET_FACTOR;
      Object.assign(figures, {
        without_p50_ms: p(rounds.without, 50),
        without_p99_ms: p(rounds.without, 99),
        without_p99_9_ms: p(rounds.without, 99.9),
        with_p50_ms: p(rounds.with, 50),
        with_p99_ms: p(rounds.with, 99),
        with_p99_9_ms: p(rounds.with, 99.9),
        p99_with_over_without: 1 / ratio.median,
        p99_with_over_without_min: 1 / ratio.max,
        p99_with_over_without_max: 1 / ratio.min,
      });
      notes.push(
        `p99 of the others, without over with the slow clients: ${ratio.text} (target ≥ ${(1 / TARGET_FACTOR).toFixed(2)}, i.e. with ≤ ${String(TARGET_FACTOR)} × without)`,
      );
    }
    Object.assign(figures, {
      slow_closed_per_round_min: Math.min(...rounds.with.map((r) => r.slowClosed!)),
      slow_closed_after_s_max: Math.max(...rounds.with.map((r) => r.closedAfterS!)),
      rounds_closed_while_measured: rounds.with.filter((r) => r.closedInWindow).length,
      slow_closed_with_4002: rounds.with.reduce((a, r) => a + (r.codes![String(SLOW_CLOSE_CODE)] ?? 0), 0),
      stalled_sockets_after_max: Math.max(...rounds.with.map((r) => r.stalledAfter!)),
      gateway_peak_rss_without_mib: median(rounds.without.map((r) => r.peakRssBytes)) / 2 ** 20,
      gateway_peak_rss_with_mib: median(rounds.with.map((r) => r.peakRssBytes)) / 2 ** 20,
    });
    const charts: ChartSpec[] = complete
      ? [
          {
            title: `Latency per delivery to the ${String(clients - slow)} others (CDF, last round)`,
            kind: "cdf",
            xLabel: "ms from the scheduled send",
            yLabel: "fraction of deliveries",
            series: [
              { label: `without ${String(slow)} slow clients`, data: cdfPoints(rounds.without.at(-1)!.latency.perDelivery) },
              { label: `with ${String(slow)} slow clients`, data: cdfPoints(rounds.with.at(-1)!.latency.perDelivery) },
            ],
          },
        ]
      : [];
    return {
      figures,
      rows,
      charts,
      target: {
        text: `the others' p99 with the slow clients ≤ ${String(TARGET_FACTOR)} × without; every slow client closed with ${String(SLOW_CLOSE_CODE)}, no socket left stalled`,
        met,
      },
      notes: [
        ...notes,
        ...faults,
        `${String(clients)} clients, ${String(slow)} of them slow (1 %); ${String(MAIN_RATE)} posts/s into town-square (everyone) for ${String(durationMs / 1000)} s, measured; ${String(BUSY_RATE)} posts/s of ${String(BUSY_MESSAGE.length)} characters into a channel of the slow clients' users only, from ${String(fillMs / 1000)} s before those to their end (the slow clients stop reading as it starts); ${String(ROUNDS)} rounds, without and with alternating, fresh slow clients each round`,
        `the gateway's policy at its defaults: 1 MiB unsent per socket, closed with ${String(SLOW_CLOSE_CODE)} after 5 s at it with events waiting; slow_closed_after_s_max: from the pause to the last of them counted by sb_gateway_slow_closes_total`,
        `full stack: gateway, NATS, posts, presence and accounts share CPU ${String(SERVER_CPU)}; both load clients run on CPU ${String(LOAD_CPU)}; PostgreSQL is the machine's own server, not pinned; posts are sent from the bench process (unpinned)`,
      ],
    };
  },
};
