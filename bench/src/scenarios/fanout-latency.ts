/**
 * fanout-latency: REST `POST /api/v4/posts` accepted → delivered on every member's socket, full
 * stack (gateway, NATS, posts, presence, accounts, PostgreSQL), open loop: posts go out on a
 * fixed schedule and each delivery's latency is taken from its post's scheduled send time, so a
 * stall is charged to every post it held up (open-loop.ts). Beside it, the floor, measured
 * alike at the same rate to the same number of sockets: a raw NATS publish of the finished frame
 * → a bare uWebSockets.js server's `app.publish`.
 *
 * Every post carries a pending_post_id chosen beforehand; every socket must get every post of
 * its shape once (completeness.ts, by that id), and in the server's order: the same order on
 * every socket. Not the send order: posts sent 50 ms apart over REST are created concurrently,
 * and the one sent later may commit, and be published, first (at 20 posts/s into 500 sockets
 * the send-order check failed every run). The floor publishes from this process one after
 * another, so its order is the send order. An incomplete, duplicated or reordered shape is a
 * failed row and reports no figure.
 */
import { settle, startLoadStack } from "../load-stack.js";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connectBus, subjects } from "@switchboard/bus";
import { seedPopulation, type Stack } from "@switchboard/testkit";
import type { LedgerGroups } from "../completeness.js";
import { percentile } from "../closed-loop.js";
import { sendCount } from "../open-loop.js";
import { measurePostedLatency } from "../posted-latency.js";
import { createPostOverRest } from "../rest-post.js";
import { pinToCpu } from "../proc-cpu.js";
import { cdfPoints, histogramPoints } from "../results/chart-data.js";
import { profiledNodeArgs, type ChartSpec, type ResultRow, type Scenario, type ScenarioContext } from "../scenario.js";
import { startLoadClient } from "../ws-load/load-client-pool.js";

/** The servers run on this CPU (the whole server side shares it), the load clients on the other one. */
const SERVER_CPU = 0;
const LOAD_CPU = 1;
const TARGET_MARGIN_MS = 20;
const GATEWAY = "Switchboard, full stack (REST → delivered)";
const FLOOR = "floor: raw NATS publish → raw uWS.js publish";

interface Shape {
  readonly name: string;
  readonly members: number;
  readonly postsPerS: number;
  /** Posts spread round-robin over this many channels, members / channels sockets each (one user per socket); absent: one channel. */
  readonly channels?: number;
}

/** Who connects where, and where each post goes, for one shape. */
interface Plan {
  readonly gwHeaders: Record<string, string>[];
  readonly rawHeaders: Record<string, string>[];
  readonly channelOf: (send: number) => string;
  readonly poster: string;
  readonly groups?: LedgerGroups;
}

/** The shapes; QUICK: fewer sockets and a shorter run. */
function shapes(quick: boolean): Shape[] {
  return quick
    ? [
        { name: "2 posts/s, one channel of 2,000", members: 2_000, postsPerS: 2 },
        { name: "20 posts/s, one channel of 500", members: 500, postsPerS: 20 },
        { name: "100 posts/s over 100 channels of 20", members: 2_000, postsPerS: 100, channels: 100 },
      ]
    : [
        { name: "2 posts/s, one channel of 10,000", members: 10_000, postsPerS: 2 },
        { name: "20 posts/s, one channel of 1,000", members: 1_000, postsPerS: 20 },
        { name: "100 posts/s over 100 channels of 100", members: 10_000, postsPerS: 100, channels: 100 },
      ];
}

/**
 * How long a shape's posts flow: the arrival table (sockets × posts, kept per first arrival)
 * crosses the load client's IPC, so the 100-channel shape, whose sockets each get a hundredth
 * of the posts, runs 5 s at every size (10,000 × 500 entries).
 */
function shapeDurationMs(shape: Shape, durationMs: number): number {
  return shape.channels !== undefined ? Math.min(durationMs, 5_000) : durationMs;
}

export const scenario: Scenario = {
  name: "fanout-latency",
  description: "REST POST /api/v4/posts accepted → delivered, open loop, full stack, vs raw NATS → raw uWS.js publish at the same rate",
  async run(ctx) {
    const durationMs = ctx.quick ? 5_000 : 30_000;
    const list = shapes(ctx.quick);
    const maxMembers = Math.max(...list.filter((s) => s.channels === undefined).map((s) => s.members));
    const users = Math.min(100, maxMembers);
    const stack = await startLoadStack({ gatewayNodeArgs: profiledNodeArgs() });
    const rows: ResultRow[] = [];
    const charts: ChartSpec[] = [];
    const figures: Record<string, number> = {};
    let met = true;
    // The floor's server, one per shape: by channel for the 100-channel shape, on the servers' core.
    const startRaw = async (byChannel: boolean) => {
      const args = [
        fileURLToPath(new URL("../raw/raw-uws-server.js", import.meta.url)),
        stack.nats.url,
        subjects.benchRawFrames,
        ...(byChannel ? ["by-channel"] : []),
      ];
      const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...stack.nats.env("bench") } });
      const port = await new Promise<number>((resolve) =>
        proc.stdout.once("data", (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port)),
      );
      if (proc.pid !== undefined) pinToCpu(proc.pid, SERVER_CPU);
      return { proc, port };
    };
    try {
      ctx.log(`seeding ${users} users`);
      const pop = await seedPopulation({ databaseUrl: stack.db.url, postsAddr: stack.addrs.posts, users, channels: 1, membersPerChannel: users });
      const channel = pop.channels[0]!;
      const url = stack.gatewayUrls[0]!;
      const port = Number(new URL(url).port);
      const poster = pop.users[0]!.token;
      // The server side we start (gateway, NATS, services) on one core, the raw server on it too.
      const serverPids = [stack.accounts.pid, stack.posts.pid, stack.presence.pid, ...stack.gateways.map((g) => g.pid), stack.nats.pid];
      for (const pid of serverPids) if (pid !== undefined) pinToCpu(pid, SERVER_CPU);
      const benchBus = await connectBus({ ...stack.nats.as("bench"), name: "bench-latency-floor" });
      try {
        for (const shape of list) {
          const count = sendCount(shape.postsPerS, shapeDurationMs(shape, durationMs));
          const plan: Plan =
            shape.channels === undefined
              ? {
                  gwHeaders: Array.from({ length: shape.members }, (_, i) => ({ Authorization: `Bearer ${pop.users[i % users]!.token}` })),
                  rawHeaders: Array.from({ length: shape.members }, () => ({})),
                  channelOf: () => channel.id,
                  poster,
                }
              : await spreadPlan(ctx, stack, shape, shape.channels, count);
          const raw = await startRaw(plan.groups !== undefined);
          const gwClient = await startLoadClient({ cpu: LOAD_CPU });
          const rawClient = await startLoadClient({ cpu: LOAD_CPU });
          try {
            await gwClient.open({ host: "127.0.0.1", port, path: "/api/v4/websocket", headers: plan.gwHeaders });
            await rawClient.open({ host: "127.0.0.1", port: raw.port, path: "/", headers: plan.rawHeaders });
            await settle(gwClient);
            const phase = { label: shape.name, members: shape.members, postsPerS: shape.postsPerS, count, ...(plan.groups ? { groups: plan.groups } : {}) };
            const gw = await measurePostedLatency(ctx, {
              ...phase,
              subject: GATEWAY,
              peer: false,
              client: gwClient,
              byPendingId: true,
              order: "agreed",
              send: (i, id) => createPostOverRest(url, plan.poster, { channel_id: plan.channelOf(i), message: `latency ${String(i)}`, pending_post_id: id }),
            });
            const floor = await measurePostedLatency(ctx, {
              ...phase,
              subject: FLOOR,
              peer: true,
              client: rawClient,
              byPendingId: false,
              order: "publish",
              send: (i, id) => {
                benchBus.publish(subjects.benchRawFrames, floorFrame(plan.channelOf(i), id, i));
                return Promise.resolve();
              },
            });
            rows.push(gw.row, floor.row);
            const key = `${String(shape.postsPerS)}ps_${String(shape.members)}`;
            for (const [k, v] of Object.entries(gw.row.values)) figures[`${key}_${k}`] = v;
            for (const [k, v] of Object.entries(floor.row.values)) figures[`${key}_floor_${k}`] = v;
            if (gw.row.failed || floor.row.failed || gw.p99Ms > floor.p99Ms + TARGET_MARGIN_MS) met = false;
            if (!gw.row.failed && !floor.row.failed) {
              const hi = percentile(gw.perDelivery, 99.9);
              charts.push(
                {
                  title: `${shape.name}: latency per delivery (CDF)`,
                  kind: "cdf",
                  xLabel: "ms from the scheduled send",
                  yLabel: "fraction of deliveries",
                  series: [
                    { label: GATEWAY, data: cdfPoints(gw.perDelivery) },
                    { label: FLOOR, data: cdfPoints(floor.perDelivery) },
                  ],
                },
                {
                  title: `${shape.name}: latency per delivery (histogram, up to p99.9)`,
                  kind: "histogram",
                  xLabel: "ms",
                  yLabel: "deliveries",
                  series: [
                    { label: GATEWAY, data: histogramPoints(gw.perDelivery, 30, [0, hi]) },
                    { label: FLOOR, data: histogramPoints(floor.perDelivery, 30, [0, hi]) },
                  ],
                },
              );
            }
          } finally {
            await gwClient.close();
            await rawClient.close();
            raw.proc.kill("SIGTERM");
          }
        }
      } finally {
        await benchBus.close();
      }
    } finally {
      await stack.stop();
    }
    return {
      rows,
      charts,
      figures,
      target: { text: `p99 per delivery ≤ the floor's p99 + ${String(TARGET_MARGIN_MS)} ms, every shape complete`, met },
      notes: [
        `full stack: the server side (gateway, NATS, posts, presence, accounts) shares CPU ${String(SERVER_CPU)}, with the floor's raw uWS.js server; PostgreSQL is the machine's own server, not pinned; the load clients run on CPU ${String(LOAD_CPU)}; the posts are sent from the bench process (unpinned)`,
        `open loop: post i is due at start + i / rate, and latency is taken from that time (a late sender is charged, sender_max_lag_ms says how late); ${String(durationMs / 1000)} s per shape`,
        `sockets: ${String(users)} seeded users, each with several sockets (members = sockets); last_member_p99_ms = the p99 over posts of the time to the post's last delivery`,
        "order: every socket must get the posts in one order, the server's (concurrent REST creates commit in their own order); server_reordered_posts counts the posts that order put elsewhere than the send order",
        "100 channels: posts go round-robin over the channels, each socket its own user, a member of one channel; each socket must get its channel's posts (and no other), in the server's order; the floor's server routes each frame to its channel's sockets (X-Topic); 5 s of posts at every size (the arrival table crosses the load client's IPC)",
      ],
    };
  },
};

/** The 100-channel shape's population: channels of members / channels users each, one socket per user, a post per channel in turn. */
async function spreadPlan(ctx: ScenarioContext, stack: Stack, shape: Shape, channels: number, count: number): Promise<Plan> {
  const per = shape.members / channels;
  if (!Number.isInteger(per)) throw new Error(`${String(shape.members)} sockets do not split into ${String(channels)} channels`);
  ctx.log(`seeding ${String(shape.members)} users in ${String(channels)} channels of ${String(per)}`);
  const pop = await seedPopulation({ databaseUrl: stack.db.url, postsAddr: stack.addrs.posts, users: shape.members, channels, membersPerChannel: per });
  // seedPopulation puts users c·per … c·per + per − 1 in channel c: socket i is user i, in channel ⌊i / per⌋.
  const channelOfSocket = (i: number) => Math.floor(i / per);
  pop.channels.forEach((ch, c) => {
    if (ch.memberIds.length !== per + 1 || !pop.users.slice(c * per, (c + 1) * per).every((u) => ch.memberIds.includes(u.id))) {
      throw new Error(`channel ${String(c)}'s members are not users ${String(c * per)}…${String((c + 1) * per - 1)}`);
    }
  });
  return {
    gwHeaders: pop.users.map((u) => ({ Authorization: `Bearer ${u.token}` })),
    rawHeaders: pop.users.map((_, i) => ({ "X-Topic": pop.channels[channelOfSocket(i)]!.id })),
    channelOf: (send) => pop.channels[send % channels]!.id,
    poster: pop.admin.token,
    groups: { ofEvent: Array.from({ length: count }, (_, i) => i % channels), ofConnection: pop.users.map((_, i) => channelOfSocket(i)) },
  };
}

/** A finished `posted` frame for the floor, with the same id where the load client reads it. */
function floorFrame(channelId: string, id: string, i: number): Uint8Array {
  const post = JSON.stringify({ id, pending_post_id: id, channel_id: channelId, message: `latency ${String(i)}`, create_at: Date.now() });
  return Buffer.from(`{"event":"posted","data":{"channel_type":"O","post":${JSON.stringify(post)}},"broadcast":{"channel_id":"${channelId}"},"seq":0}`);
}
