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
import { seedPopulation } from "@switchboard/testkit";
import { percentile } from "../closed-loop.js";
import { sendCount } from "../open-loop.js";
import { measurePostedLatency } from "../posted-latency.js";
import { createPostOverRest } from "../rest-post.js";
import { pinToCpu } from "../proc-cpu.js";
import { cdfPoints, histogramPoints } from "../results/chart-data.js";
import { profiledNodeArgs, type ChartSpec, type ResultRow, type Scenario } from "../scenario.js";
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
}

/** The single-channel shapes; QUICK: fewer sockets and a shorter run. */
function shapes(quick: boolean): Shape[] {
  return quick
    ? [
        { name: "2 posts/s, one channel of 2,000", members: 2_000, postsPerS: 2 },
        { name: "20 posts/s, one channel of 500", members: 500, postsPerS: 20 },
      ]
    : [
        { name: "2 posts/s, one channel of 10,000", members: 10_000, postsPerS: 2 },
        { name: "20 posts/s, one channel of 1,000", members: 1_000, postsPerS: 20 },
      ];
}

export const scenario: Scenario = {
  name: "fanout-latency",
  description: "REST POST /api/v4/posts accepted → delivered, open loop, full stack, vs raw NATS → raw uWS.js publish at the same rate",
  async run(ctx) {
    const durationMs = ctx.quick ? 5_000 : 30_000;
    const list = shapes(ctx.quick);
    const maxMembers = Math.max(...list.map((s) => s.members));
    const users = Math.min(100, maxMembers);
    const stack = await startLoadStack({ gatewayNodeArgs: profiledNodeArgs() });
    const rows: ResultRow[] = [];
    const charts: ChartSpec[] = [];
    const figures: Record<string, number> = {};
    let met = true;
    const raw = spawn(process.execPath, [fileURLToPath(new URL("../raw/raw-uws-server.js", import.meta.url)), stack.nats.url, subjects.benchRawFrames], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...stack.nats.env("bench") },
    });
    try {
      const rawPort = await new Promise<number>((resolve) =>
        raw.stdout.once("data", (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port)),
      );
      ctx.log(`seeding ${users} users`);
      const pop = await seedPopulation({ databaseUrl: stack.db.url, postsAddr: stack.addrs.posts, users, channels: 1, membersPerChannel: users });
      const channel = pop.channels[0]!;
      const url = stack.gatewayUrls[0]!;
      const port = Number(new URL(url).port);
      const poster = pop.users[0]!.token;
      // The server side we start (gateway, NATS, services) on one core, the raw server on it too.
      const serverPids = [stack.accounts.pid, stack.posts.pid, stack.presence.pid, ...stack.gateways.map((g) => g.pid), stack.nats.pid, raw.pid];
      for (const pid of serverPids) if (pid !== undefined) pinToCpu(pid, SERVER_CPU);
      const benchBus = await connectBus({ ...stack.nats.as("bench"), name: "bench-latency-floor" });
      try {
        for (const shape of list) {
          const count = sendCount(shape.postsPerS, durationMs);
          const gwClient = await startLoadClient({ cpu: LOAD_CPU });
          const rawClient = await startLoadClient({ cpu: LOAD_CPU });
          try {
            await gwClient.open({
              host: "127.0.0.1",
              port,
              path: "/api/v4/websocket",
              headers: Array.from({ length: shape.members }, (_, i) => ({ Authorization: `Bearer ${pop.users[i % users]!.token}` })),
            });
            await rawClient.open({ host: "127.0.0.1", port: rawPort, path: "/", headers: Array.from({ length: shape.members }, () => ({})) });
            await settle(gwClient);
            const phase = { label: shape.name, members: shape.members, postsPerS: shape.postsPerS, count };
            const gw = await measurePostedLatency(ctx, {
              ...phase,
              subject: GATEWAY,
              peer: false,
              client: gwClient,
              byPendingId: true,
              order: "agreed",
              send: (i, id) => createPostOverRest(url, poster, { channel_id: channel.id, message: `latency ${String(i)}`, pending_post_id: id }),
            });
            const floor = await measurePostedLatency(ctx, {
              ...phase,
              subject: FLOOR,
              peer: true,
              client: rawClient,
              byPendingId: false,
              order: "publish",
              send: (i, id) => {
                benchBus.publish(subjects.benchRawFrames, floorFrame(channel.id, id, i));
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
          }
        }
      } finally {
        await benchBus.close();
      }
    } finally {
      raw.kill("SIGTERM");
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
        "not yet measured: 100 posts/s over 100 channels of 100 members (needs a per-channel ledger)",
      ],
    };
  },
};

/** A finished `posted` frame for the floor, with the same id where the load client reads it. */
function floorFrame(channelId: string, id: string, i: number): Uint8Array {
  const post = JSON.stringify({ id, pending_post_id: id, channel_id: channelId, message: `latency ${String(i)}`, create_at: Date.now() });
  return Buffer.from(`{"event":"posted","data":{"channel_type":"O","post":${JSON.stringify(post)}},"broadcast":{"channel_id":"${channelId}"},"seq":0}`);
}
