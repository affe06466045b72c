/**
 * fanout-burst: 10,000 WebSocket connections in one channel, a burst of posts; deliveries per
 * server CPU-second for the gateway, beside a bare uWebSockets.js server doing `app.publish`
 * of the same frames from the same NATS burst, in the same run, in alternating rounds.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connectBus, encodeEvent, EventName, subjects } from "@switchboard/bus";
import { newEvent, newId } from "@switchboard/model";
import { create } from "@bufbuild/protobuf";
import { PostedHintsSchema } from "@switchboard/proto/events";
import { seedPopulation, startStack, waitFor } from "@switchboard/testkit";
import { pinToCpu, processCpuSeconds, processRssBytes } from "../proc-cpu.js";
import { profiledNodeArgs, type Scenario } from "../scenario.js";
import { startLoadClient, type LoadClient } from "../ws-load/load-client-pool.js";

const CONNECTIONS = 10_000;
const USERS = 100;
const ROUNDS = 3;
/** The servers under test run on this CPU, the load clients on the other one. */
const SERVER_CPU = 0;
const LOAD_CPU = 1;

interface Measured {
  readonly deliveries: number;
  readonly cpu: number;
  readonly wall: number;
}

const perCpuSecond = (m: Measured): number => m.deliveries / Math.max(m.cpu, 0.01);

function total(ms: readonly Measured[]): Measured {
  const deliveries = ms.reduce((a, m) => a + m.deliveries, 0);
  const cpu = ms.reduce((a, m) => a + m.cpu, 0);
  return { deliveries, cpu, wall: ms.reduce((a, m) => a + m.wall, 0) };
}

export const scenario: Scenario = {
  name: "fanout-burst",
  description: `${CONNECTIONS} connections in one channel, a burst of posts: deliveries per server CPU-second, gateway vs raw uWS app.publish`,
  async run(ctx) {
    const posts = Math.round(100 * ctx.scale);
    // A nats-server of its own: the shared one exists only under vitest.
    // 10,000 sockets from one address, 100 per user, opened at once: above the edge limits'
    // defaults for real use (docs/protocol.md, "Limits"), which this load is not.
    const stack = await startStack({
      ownNats: true,
      gatewayNodeArgs: profiledNodeArgs(),
      gatewayEnv: { SB_GATEWAY_MAX_UPGRADES_IN_PROGRESS: "0", SB_GATEWAY_UPGRADES_PER_SEC: "0" },
      presenceEnv: { SB_PRESENCE_MAX_CONNECTIONS_PER_IP: "0", SB_PRESENCE_MAX_CONNECTIONS_PER_USER: "1024" },
    });
    const clients: LoadClient[] = [];
    try {
      const url = stack.gatewayUrls[0]!;
      // Seeded straight into the database: a login per user would cost ~250 ms of scrypt each.
      ctx.log(`seeding ${USERS} users`);
      const pop = await seedPopulation({ databaseUrl: stack.db.url, postsAddr: stack.addrs.posts, users: USERS, channels: 1, membersPerChannel: USERS });
      const team = { id: pop.teamId };
      const channel = pop.channels[0]!;
      const tokens = pop.users.map((u) => u.token);

      // The gateway's connections (its RSS per connection is read once they have all said hello).
      const gwPid = stack.gateways[0]!.pid;
      const port = Number(new URL(url).port);
      const client = await startLoadClient({ cpu: LOAD_CPU });
      clients.push(client);
      const rssBefore = processRssBytes(gwPid);
      const headers = Array.from({ length: CONNECTIONS }, (_, i) => ({ Authorization: `Bearer ${tokens[i % USERS]}` }));
      const opened = await client.open({ host: "127.0.0.1", port, path: "/api/v4/websocket", headers, checkSeq: true });
      ctx.log(`gateway: ${opened.count} connections in ${opened.ms} ms`);
      await waitFor(async () => (await client.count()).min >= 1, { timeoutMs: 60_000, what: "hello on every connection" });
      const rssPerConnection = (processRssBytes(gwPid) - rssBefore) / CONNECTIONS;

      // The events as posts publishes them; the raw server's frames as the bench user.
      const bus = await connectBus({ ...stack.nats.as("posts"), name: "bench-publisher" });
      const benchBus = await connectBus({ ...stack.nats.as("bench"), name: "bench-raw-publisher" });
      /** A fresh burst (new post and event ids each round): the gateway's envelopes and the raw server's frames. */
      const makeBurst = () => {
        const frames: Uint8Array[] = [];
        const events = Array.from({ length: posts }, (_, i) => {
          const post = {
            id: newId(),
            create_at: Date.now(),
            update_at: Date.now(),
            edit_at: 0,
            delete_at: 0,
            is_pinned: false,
            user_id: newId(),
            channel_id: channel.id,
            root_id: "",
            original_id: "",
            message: `burst ${i}`,
            type: "",
            props: {},
            hashtags: "",
            file_ids: [],
            pending_post_id: "",
            reply_count: 0,
            last_reply_at: 0,
            participants: null,
            metadata: {},
          };
          const ev = newEvent({
            event: EventName.Posted,
            data: {
              channel_display_name: "Fanout",
              channel_name: "fanout",
              channel_type: "O",
              post: JSON.stringify(post),
              sender_name: "@bench",
              set_online: true,
              team_id: team.id,
            },
            broadcast: { channelId: channel.id },
            posted: create(PostedHintsSchema, { channelType: "O", senderId: post.user_id }),
          });
          frames.push(
            new TextEncoder().encode(
              `{"event":"posted","data":${new TextDecoder().decode(ev.data)},"broadcast":{"omit_users":null,"user_id":"","channel_id":"${channel.id}","team_id":"","connection_id":"","omit_connection_id":""},"seq":0}`,
            ),
          );
          return encodeEvent(ev);
        });
        return { events, frames };
      };

      // The raw server: same frames, same NATS path, app.publish to the same number of sockets.
      // Both sets of connections stay open; the phases alternate in rounds so that whatever
      // else this machine does at the time falls on both alike.
      const raw = spawn(process.execPath, [fileURLToPath(new URL("../raw/raw-uws-server.js", import.meta.url)), stack.nats.url, subjects.benchRawFrames], {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, ...stack.nats.env("bench") },
      });
      try {
        const rawPort = await new Promise<number>((resolve) =>
          raw.stdout.once("data", (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port)),
        );
        const rawClient = await startLoadClient({ cpu: LOAD_CPU });
        clients.push(rawClient);
        await rawClient.open({ host: "127.0.0.1", port: rawPort, path: "/", headers: Array.from({ length: CONNECTIONS }, () => ({})) });
        // Each server gets a core of its own, never shared with the load it is measured against.
        pinToCpu(gwPid, SERVER_CPU);
        pinToCpu(raw.pid!, SERVER_CPU);
        const gw: Measured[] = [];
        const rawM: Measured[] = [];
        // Round 0 warms both servers up (JIT, buffers) and is not counted.
        for (let r = 0; r <= ROUNDS; r++) {
          const b = makeBurst();
          const name = r === 0 ? "warm-up" : `round ${r}`;
          const g = await measure(ctx, `${name} gateway`, gwPid, client, CONNECTIONS * posts, () => {
            for (const e of b.events) bus.publish(subjects.channel(channel.id), e);
          });
          const w = await measure(ctx, `${name} raw uWS`, raw.pid!, rawClient, CONNECTIONS * posts, () => {
            for (const f of b.frames) benchBus.publish(subjects.benchRawFrames, f);
          });
          if (r === 0) continue;
          gw.push(g);
          rawM.push(w);
        }
        await bus.close();
        await benchBus.close();
        // Every frame the gateway sent carried its connection's next seq (none lost, repeated or reordered).
        const { seqErrors } = await client.count();
        if (seqErrors > 0) throw new Error(`the gateway sent ${seqErrors} events out of their connection's seq order`);
        const g = total(gw);
        const w = total(rawM);
        const ratio = perCpuSecond(g) / perCpuSecond(w);
        const roundRatios = gw.map((m, i) => perCpuSecond(m) / perCpuSecond(rawM[i]!));
        return {
          figures: {
            connections: CONNECTIONS,
            gateway_rss_kb_per_connection: rssPerConnection / 1024,
            gateway_seq_errors: seqErrors,
            posts_in_burst: posts,
            rounds: ROUNDS,
            gateway_deliveries: g.deliveries,
            gateway_cpu_s: g.cpu,
            gateway_wall_s: g.wall,
            gateway_deliveries_per_cpu_s: Math.round(perCpuSecond(g)),
            raw_deliveries: w.deliveries,
            raw_cpu_s: w.cpu,
            raw_wall_s: w.wall,
            raw_deliveries_per_cpu_s: Math.round(perCpuSecond(w)),
            ratio,
            round_ratio_min: Math.min(...roundRatios),
            round_ratio_max: Math.max(...roundRatios),
          },
          target: { text: "gateway >= 70% of raw uWS app.publish deliveries per CPU-second", met: ratio >= 0.7 },
          notes: [
            `CPU from /proc/<pid>/stat (10 ms ticks); both servers (all threads) pinned to CPU ${SERVER_CPU}, both load clients to CPU ${LOAD_CPU}`,
            `a warm-up round, then ${ROUNDS} rounds, gateway and raw alternating, both sets of connections open throughout; ratio = deliveries per CPU-second over the ${ROUNDS} rounds`,
          ],
        };
      } finally {
        raw.kill("SIGTERM");
      }
    } finally {
      for (const c of clients) await c.close();
      await stack.stop();
    }
  },
};

/**
 * Fires the burst and waits until the client holds `expected` more `posted` frames. It starts
 * once the connections have been quiet for a moment: the status changes that follow 10,000
 * connects (each user going online, to every connection of that user) are neither counted
 * nor charged to the burst.
 */
async function measure(ctx: { log(m: string): void }, name: string, pid: number, client: LoadClient, expected: number, fire: () => void): Promise<Measured> {
  let last = (await client.count()).total;
  for (let quiet = 0; quiet < 5;) {
    await new Promise((r) => setTimeout(r, 100));
    const now = (await client.count()).total;
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
  const before = (await client.count()).posted;
  const cpu0 = processCpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  fire();
  await waitFor(async () => (await client.count()).posted >= before + expected, { timeoutMs: 120_000, intervalMs: 20, what: `${name} deliveries` });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = processCpuSeconds(pid) - cpu0;
  const deliveries = (await client.count()).posted - before;
  ctx.log(`${name}: ${deliveries} deliveries, ${cpu.toFixed(2)} CPU-s, ${wall.toFixed(2)} s wall`);
  return { deliveries, cpu, wall };
}
