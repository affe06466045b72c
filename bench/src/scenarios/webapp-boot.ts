/**
 * webapp-boot: seeded users (500, QUICK 100) with tokens issued before the clock starts open
 * the webapp at once, each making the requests mattermost-redux 11.9.0 makes at boot:
 * loadMe's (config, license, me, preferences, my teams, my team members, team unreads, server
 * limits, then the roles of what it read) and the sidebar's (the team's channels, my channel
 * members, the categories), in those two waves. Each user's boot is timed from the common
 * start to its last answer; a boot with a non-200 answer fails the row.
 *
 * Beside it, measured alike (every user at once, the same waves), the floor: the same reads as
 * plain `pg` queries on the same database (roles, config, license and limits are constants and
 * cost no query). Every user boots once before (not timed), as a returning user: Mattermost's
 * default sidebar categories are written at a user's first read, and both sides then read them.
 */
import pg from "pg";
import { seedPopulation, startStack, type Population } from "@switchboard/testkit";
import { postgresCpuSeconds, processCpuSeconds } from "../proc-cpu.js";
import { profiledNodeArgs, type ResultRow, type Scenario, type ScenarioContext } from "../scenario.js";

const FULL_USERS = 500;
const QUICK_USERS = 100;
/** Channels besides town-square, and members of each. */
const CHANNELS = 20;
const MEMBERS_PER_CHANNEL = 100;
/**
 * The floor's connections: as many as one service's pool (SB_*_DB_POOL_SIZE, 20 by default);
 * posts and accounts hold 40 together, but the PostgreSQL the benches share allows 100 clients.
 */
const FLOOR_POOL = 20;
const GATEWAY = "Switchboard gateway";
const FLOOR = "plain pg queries";

interface Boot {
  readonly ms: number[];
  readonly requests: number;
  readonly wall: number;
  readonly failures: string[];
}

type Request = readonly [method: "GET" | "POST", path: string, body?: unknown];

/** loadMe's requests, then the roles it read, then the sidebar's (mattermost-redux actions/users loadMe, actions/channels fetchChannelsAndMembers, actions/channel_categories fetchMyCategories). */
function bootWaves(userId: string, teamId: string): Request[][] {
  return [
    [
      ["GET", "/api/v4/config/client?format=old"],
      ["GET", "/api/v4/license/client?format=old"],
      ["GET", "/api/v4/users/me"],
      ["GET", "/api/v4/users/me/preferences"],
      ["GET", "/api/v4/users/me/teams"],
      ["GET", "/api/v4/users/me/teams/members"],
      ["GET", "/api/v4/users/me/teams/unread?include_collapsed_threads=true"],
      ["GET", "/api/v4/limits/server"],
    ],
    [["POST", "/api/v4/roles/names", ["system_user", "team_user", "channel_user"]]],
    [
      ["GET", `/api/v4/users/me/teams/${teamId}/channels?include_deleted=true`],
      ["GET", `/api/v4/users/me/teams/${teamId}/channels/members`],
      ["GET", `/api/v4/users/${userId}/teams/${teamId}/channels/categories`],
    ],
  ];
}

/** The same reads as the floor runs them: one query per read the services make for these routes. */
function floorWaves(userId: string, teamId: string): [string, unknown[]][][] {
  return [
    [
      ["SELECT * FROM accounts.users WHERE id = $1", [userId]],
      ["SELECT * FROM accounts.preferences WHERE user_id = $1", [userId]],
      ["SELECT t.* FROM posts.teams t JOIN posts.team_members m ON m.team_id = t.id WHERE m.user_id = $1 AND m.delete_at = 0", [userId]],
      ["SELECT * FROM posts.team_members WHERE user_id = $1 AND delete_at = 0", [userId]],
      [
        `SELECT c.team_id, sum(c.total_msg_count - m.msg_count) AS msg_count, sum(m.mention_count) AS mention_count
         FROM posts.channel_members m JOIN posts.channels c ON c.id = m.channel_id WHERE m.user_id = $1 AND c.delete_at = 0 GROUP BY c.team_id`,
        [userId],
      ],
    ],
    [],
    [
      ["SELECT c.* FROM posts.channels c JOIN posts.channel_members m ON m.channel_id = c.id WHERE m.user_id = $1 AND c.team_id IN ($2, '')", [userId, teamId]],
      ["SELECT m.* FROM posts.channel_members m JOIN posts.channels c ON c.id = m.channel_id WHERE m.user_id = $1 AND c.team_id IN ($2, '')", [userId, teamId]],
      [
        `SELECT s.*, (SELECT array_agg(sc.channel_id ORDER BY sc.sort_order) FROM posts.sidebar_channels sc WHERE sc.category_id = s.id) AS channel_ids
         FROM posts.sidebar_categories s WHERE s.user_id = $1 AND s.team_id = $2 ORDER BY s.sort_order`,
        [userId, teamId],
      ],
    ],
  ];
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

/** Every user at once; each runs its waves in order, the calls of a wave side by side. */
async function allAtOnce(ctx: ScenarioContext, name: string, users: number, boot: (i: number) => Promise<number>): Promise<Boot> {
  const phase = ctx.phase(name, { unit: "users booted", total: users });
  const failures: string[] = [];
  let done = 0;
  let requests = 0;
  const t0 = performance.now();
  const ms = await Promise.all(
    Array.from({ length: users }, async (_, i) => {
      try {
        const n = await boot(i);
        requests += n;
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e));
      }
      phase.update(++done);
      return performance.now() - t0;
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  phase.end(done);
  return { ms: ms.sort((a, b) => a - b), requests, wall, failures };
}

/** Per route (ids left out): answers and their summed latency, to name the slowest routes. */
type RouteTimes = Map<string, { n: number; ms: number }>;

async function gatewayBoot(baseUrl: string, pop: Population, i: number, times: RouteTimes): Promise<number> {
  const u = pop.users[i]!;
  let n = 0;
  for (const wave of bootWaves(u.id, pop.teamId)) {
    await Promise.all(
      wave.map(async ([method, path, body]) => {
        const t = performance.now();
        const res = await fetch(`${baseUrl}${path}`, {
          method,
          headers: { Authorization: `Bearer ${u.token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${method} ${path}: ${String(res.status)}`);
        const route = `${method} ${path.replace(/\?.*$/, "").replace(/[a-z0-9]{26}/g, "{id}")}`;
        const r = times.get(route) ?? { n: 0, ms: 0 };
        times.set(route, { n: r.n + 1, ms: r.ms + performance.now() - t });
        n++;
      }),
    );
  }
  return n;
}

async function floorBoot(pool: pg.Pool, pop: Population, i: number): Promise<number> {
  const u = pop.users[i]!;
  let n = 0;
  for (const wave of floorWaves(u.id, pop.teamId)) {
    await Promise.all(
      wave.map(async ([sql, args]) => {
        await pool.query(sql, args);
        n++;
      }),
    );
  }
  return n;
}

function row(subject: string, b: Boot): ResultRow {
  const base = { label: "boot, every user at once", subject, peer: subject !== GATEWAY };
  if (b.failures.length > 0) return { ...base, values: {}, failed: `${String(b.failures.length)} boots failed, e.g. ${b.failures[0]!}` };
  return {
    ...base,
    values: { users: b.ms.length, p50_ms: percentile(b.ms, 50), p99_ms: percentile(b.ms, 99), requests_per_s: Math.round(b.requests / b.wall) },
  };
}

export const scenario: Scenario = {
  name: "webapp-boot",
  description: `the webapp opened by ${String(FULL_USERS)} users at once (QUICK ${String(QUICK_USERS)}): loadMe's and the sidebar's requests per user through the gateway, beside the same reads as plain pg queries`,
  async run(ctx) {
    const users = Math.max(10, Math.round((ctx.quick ? QUICK_USERS : FULL_USERS) * (ctx.quick ? 1 : ctx.scale)));
    const stack = await startStack({ ownNats: true, gatewayNodeArgs: profiledNodeArgs() });
    const pool = new pg.Pool({ connectionString: stack.db.url, max: FLOOR_POOL });
    try {
      ctx.log(`seeding ${String(users)} users in one team, ${String(CHANNELS)} channels of ${String(Math.min(MEMBERS_PER_CHANNEL, users))}`);
      const pop = await seedPopulation({
        databaseUrl: stack.db.url,
        postsAddr: stack.addrs.posts,
        users,
        channels: CHANNELS,
        membersPerChannel: Math.min(MEMBERS_PER_CHANNEL, users),
      });
      const url = stack.gatewayUrls[0]!;
      // Returning users: the first boot writes the default categories (not timed).
      await allAtOnce(ctx, "first boot (warm-up)", users, (i) => gatewayBoot(url, pop, i, new Map()));
      const times: RouteTimes = new Map();
      // CPU seconds of each server process over the measured boot: where the time goes.
      const cpu = () => ({
        gateway: processCpuSeconds(stack.gateways[0]!.pid),
        accounts: processCpuSeconds(stack.accounts.pid),
        posts: processCpuSeconds(stack.posts.pid),
        presence: processCpuSeconds(stack.presence.pid),
        postgres: postgresCpuSeconds(stack.db.name),
      });
      const cpu0 = cpu();
      const gateway = await allAtOnce(ctx, "boot through the gateway", users, (i) => gatewayBoot(url, pop, i, times));
      const cpu1 = cpu();
      const cpuUs = (k: keyof typeof cpu0) => Math.round(((cpu1[k] - cpu0[k]) * 1e6) / Math.max(gateway.requests, 1));
      const slowest = [...times]
        .map(([route, t]) => [route, t.ms / t.n] as const)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4);
      const floor = await allAtOnce(ctx, "the same reads as pg queries", users, (i) => floorBoot(pool, pop, i));
      const p99 = percentile(gateway.ms, 99);
      const floorP99 = percentile(floor.ms, 99);
      const ok = gateway.failures.length === 0 && floor.failures.length === 0;
      return {
        figures: {
          users,
          boot_p50_ms: Math.round(percentile(gateway.ms, 50)),
          boot_p99_ms: Math.round(p99),
          gateway_requests_per_s: Math.round(gateway.requests / gateway.wall),
          floor_p50_ms: Math.round(percentile(floor.ms, 50)),
          floor_p99_ms: Math.round(floorP99),
          floor_queries_per_s: Math.round(floor.requests / floor.wall),
          p99_over_floor: Number((p99 / Math.max(floorP99, 0.001)).toFixed(2)),
          // CPU per request, in microseconds, of each process (the floor has no such split).
          gateway_cpu_us_per_request: cpuUs("gateway"),
          accounts_cpu_us_per_request: cpuUs("accounts"),
          posts_cpu_us_per_request: cpuUs("posts"),
          presence_cpu_us_per_request: cpuUs("presence"),
          postgres_cpu_us_per_request: cpuUs("postgres"),
        },
        rows: [row(GATEWAY, gateway), row(FLOOR, floor)],
        charts: [
          {
            title: "Time to boot, every user at once (CDF)",
            kind: "cdf",
            xLabel: "ms",
            yLabel: "share of users",
            series: [
              { label: GATEWAY, data: gateway.ms.map((v, i) => [v, (i + 1) / gateway.ms.length] as const) },
              { label: FLOOR, data: floor.ms.map((v, i) => [v, (i + 1) / floor.ms.length] as const) },
            ],
          },
        ],
        target: { text: "p99 boot within 3x the floor's p99 (the same reads as plain pg queries)", met: ok && p99 <= 3 * floorP99 },
        notes: [
          `per user: ${String(bootWaves("u", "t").flat().length)} requests in 3 waves through one gateway; the floor: ${String(floorWaves("u", "t").flat().length)} queries on a pool of ${String(FLOOR_POOL)} connections`,
          "timed from the common start to each user's last answer; the load runs in the bench process on the same machine as the whole stack",
          "every user booted once before (not timed): the default sidebar categories are written at a user's first read",
          `slowest routes under this load (mean latency): ${slowest.map(([r, ms]) => `${r} ${ms.toFixed(0)} ms`).join("; ")}`,
        ],
      };
    } finally {
      await pool.end();
      await stack.stop();
    }
  },
};
