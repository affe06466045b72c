/**
 * fanout-burst: 10,000 WebSocket connections in one channel, a burst of posts; deliveries per
 * server CPU-second for the gateway, beside a bare uWebSockets.js server doing `app.publish`
 * of the same frames from the same NATS burst, in the same run, in alternating rounds. Every
 * burst is checked by post id and order on every connection (burst.ts): a round that lost,
 * repeated or reordered a delivery is a failed row, and no ratio is reported from it.
 */
import { settle, startLoadStack } from "../load-stack.js";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connectBus, encodeEvent, EventName, subjects } from "@switchboard/bus";
import { newEvent, newId } from "@switchboard/model";
import { create } from "@bufbuild/protobuf";
import { PostedHintsSchema } from "@switchboard/proto/events";
import { seedPopulation, waitFor } from "@switchboard/testkit";
import { runBurst, type BurstResult } from "../burst.js";
import { pinToCpu, processRssBytes } from "../proc-cpu.js";
import { cdfPoints, histogramPoints } from "../results/chart-data.js";
import { profiledNodeArgs, type ResultRow, type Scenario, type ScenarioContext } from "../scenario.js";
import { stableRatio } from "../stable-ratio.js";
import { startLoadClient, type LoadClient } from "../ws-load/load-client-pool.js";

const FULL_CONNECTIONS = 10_000;
const QUICK_CONNECTIONS = 2_000;
const USERS = 100;
const ROUNDS = 3;
/** The servers under test run on this CPU, the load clients on the other one. */
const SERVER_CPU = 0;
const LOAD_CPU = 1;
const TARGET_RATIO = 0.7;
const GATEWAY = "Switchboard gateway";
const RAW = "raw uWS.js app.publish";

/** The peers beside the gateway: each a process of its own fed the same frames from the same NATS subject. */
const PEERS = [
  { key: "raw", name: RAW, script: "../raw/raw-uws-server.js", target: TARGET_RATIO, socketIo: false },
  { key: "ws", name: "ws broadcast loop", script: "../raw/ws-broadcast-server.js", target: 8, socketIo: false },
  { key: "socketio", name: "Socket.IO io.to(room).emit", script: "../raw/socketio-room-server.js", target: 10, socketIo: true },
] as const;

const perCpuSecond = (m: BurstResult): number => m.deliveries / Math.max(m.cpu, 0.01);

function total(ms: readonly BurstResult[]): { deliveries: number; cpu: number; wall: number } {
  return { deliveries: ms.reduce((a, m) => a + m.deliveries, 0), cpu: ms.reduce((a, m) => a + m.cpu, 0), wall: ms.reduce((a, m) => a + m.wall, 0) };
}

export const scenario: Scenario = {
  name: "fanout-burst",
  description: `${FULL_CONNECTIONS} connections in one channel (QUICK ${QUICK_CONNECTIONS}), a burst of posts: deliveries per server CPU-second, gateway vs raw uWS app.publish, a ws broadcast loop and a Socket.IO room emit`,
  async run(ctx) {
    const CONNECTIONS = ctx.quick ? QUICK_CONNECTIONS : FULL_CONNECTIONS;
    const posts = Math.round(100 * ctx.scale);
    // A nats-server of its own: the shared one exists only under vitest.
    // 10,000 sockets from one address, 100 per user, opened at once: above the edge limits'
    // defaults for real use (docs/protocol.md, "Limits"), which this load is not.
    const stack = await startLoadStack({ gatewayNodeArgs: profiledNodeArgs() });
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
      const opened = await openWithProgress(ctx, "gateway connections", client, {
        host: "127.0.0.1",
        port,
        path: "/api/v4/websocket",
        headers,
        checkSeq: true,
      });
      ctx.log(`gateway: ${opened.count} connections in ${opened.ms} ms`);
      await waitFor(async () => (await client.count()).min >= 1, { timeoutMs: 60_000, what: "hello on every connection" });
      const rssPerConnection = (processRssBytes(gwPid) - rssBefore) / CONNECTIONS;

      // The events as posts publishes them; the raw server's frames as the bench user.
      const bus = await connectBus({ ...stack.nats.as("posts"), name: "bench-publisher" });
      const benchBus = await connectBus({ ...stack.nats.as("bench"), name: "bench-raw-publisher" });
      /** A fresh burst (new post and event ids each round): the gateway's envelopes and the raw server's frames. */
      const makeBurst = () => {
        const frames: Uint8Array[] = [];
        const ids: string[] = [];
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
          ids.push(post.id);
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
        return { ids, events, frames };
      };

      // The raw server: same frames, same NATS path, app.publish to the same number of sockets.
      // Both sets of connections stay open; the phases alternate in rounds so that whatever
      // else this machine does at the time falls on both alike.
      const peers = PEERS.map((p) => ({
        ...p,
        proc: spawn(process.execPath, [fileURLToPath(new URL(p.script, import.meta.url)), stack.nats.url, subjects.benchRawFrames], {
          stdio: ["ignore", "pipe", "inherit"],
          env: { ...process.env, ...stack.nats.env("bench") },
        }),
        runs: [] as BurstResult[],
      }));
      try {
        const peerClients: LoadClient[] = [];
        for (const p of peers) {
          const port = await new Promise<number>((resolve, reject) => {
            p.proc.once("exit", (code) => reject(new Error(`${p.name} exited (${String(code)})`)));
            p.proc.stdout.once("data", (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
          });
          const c = await startLoadClient({ cpu: LOAD_CPU });
          clients.push(c);
          peerClients.push(c);
          await openWithProgress(ctx, `${p.name} connections`, c, {
            host: "127.0.0.1",
            port,
            path: p.socketIo ? "/socket.io/?EIO=4&transport=websocket" : "/",
            headers: Array.from({ length: CONNECTIONS }, () => ({})),
            socketIo: p.socketIo,
          });
          // Socket.IO: the engine's open packet and the namespace's connect ack (the socket is then in the room).
          if (p.socketIo) await waitFor(async () => (await c.count()).min >= 2, { timeoutMs: 60_000, what: `${p.name}: every socket connected` });
          // Each server gets a core of its own, never shared with the load it is measured against.
          pinToCpu(p.proc.pid!, SERVER_CPU);
        }
        pinToCpu(gwPid, SERVER_CPU);
        const gw: BurstResult[] = [];
        const rows: ResultRow[] = [];
        const burst = async (name: string, subject: string, pid: number, c: LoadClient, ids: string[], fire: () => void) => {
          await settle(c);
          const m = await runBurst({
            client: c,
            ids,
            connections: CONNECTIONS,
            fire,
            pid,
            label: name,
            subject,
            peer: subject !== GATEWAY,
            phase: (o) => ctx.phase(`${name}, ${subject}`, { unit: "deliveries counted", ...o }),
          });
          ctx.log(
            m.row.failed
              ? `${name} ${subject}: FAILED: ${m.row.failed}`
              : `${name} ${subject}: ${m.deliveries} deliveries, ${m.cpu.toFixed(2)} CPU-s, ${m.wall.toFixed(2)} s wall`,
          );
          rows.push(m.row);
          return m;
        };
        // Round 0 warms every server up (JIT, buffers) and is not counted; its completeness is checked all the same.
        for (let r = 0; r <= ROUNDS; r++) {
          const b = makeBurst();
          const name = r === 0 ? "warm-up" : `round ${r}`;
          const g = await burst(name, GATEWAY, gwPid, client, b.ids, () => {
            for (const e of b.events) bus.publish(subjects.channel(channel.id), e);
          });
          if (r > 0) gw.push(g);
          for (const [i, p] of peers.entries()) {
            const m = await burst(name, p.name, p.proc.pid!, peerClients[i]!, b.ids, () => {
              for (const f of b.frames) benchBus.publish(subjects.benchRawFrames, f);
            });
            if (r > 0) p.runs.push(m);
          }
        }
        const rawM = peers[0]!.runs;
        await bus.close();
        await benchBus.close();
        // Every frame the gateway sent carried its connection's next seq (none lost, repeated or reordered).
        const { seqErrors } = await client.count();
        const notes = [
          `CPU from /proc/<pid>/stat (10 ms ticks); both servers (all threads) pinned to CPU ${SERVER_CPU}, both load clients to CPU ${LOAD_CPU}`,
          `a warm-up round, then ${ROUNDS} rounds, gateway and each peer alternating, every set of connections open throughout; ratio = the median of the rounds' ratios of deliveries per CPU-second`,
          "every burst checked on every connection by post id and order (missing, duplicated, out of order): a round that fails it is a failed row and no ratio is reported",
        ];
        notes.push(
          "peers: the same pre-encoded frame, perMessageDeflate off; ws: `for (const c of wss.clients) c.send(frame)`; Socket.IO: `io.to(room).emit` with the frame as a binary attachment (one packet encoding per broadcast, a placeholder text frame and the frame's bytes per socket), websocket transport",
        );
        const target = `gateway >= ${TARGET_RATIO * 100}% of raw uWS app.publish, >= 8x the ws loop, >= 10x Socket.IO, in deliveries per CPU-second`;
        const base = {
          connections: CONNECTIONS,
          gateway_rss_kb_per_connection: rssPerConnection / 1024,
          gateway_seq_errors: seqErrors,
          posts_in_burst: posts,
          rounds: ROUNDS,
        };
        if (seqErrors > 0 || rows.some((row) => row.failed)) {
          if (seqErrors > 0) notes.push(`the gateway sent ${seqErrors} events out of their connection's seq order`);
          return { figures: base, rows, target: { text: target, met: false }, notes };
        }
        const g = total(gw);
        const w = total(rawM);
        const ratio = stableRatio(gw.map(perCpuSecond), rawM.map(perCpuSecond), TARGET_RATIO);
        notes.push(`ratio ${ratio.text}`);
        const peerFigures: Record<string, number> = {};
        let met = ratio.median >= TARGET_RATIO;
        for (const p of peers.slice(1)) {
          const t = total(p.runs);
          const r = stableRatio(gw.map(perCpuSecond), p.runs.map(perCpuSecond), p.target);
          notes.push(`gateway / ${p.name}: ${r.text} (target ${String(p.target)})`);
          met &&= r.median >= p.target;
          Object.assign(peerFigures, {
            [`${p.key}_deliveries_per_cpu_s`]: Math.round(t.deliveries / Math.max(t.cpu, 0.01)),
            [`${p.key}_cpu_s`]: t.cpu,
            [`ratio_vs_${p.key}`]: r.median,
            [`ratio_vs_${p.key}_spread`]: r.spread,
          });
        }
        const labels = gw.map((_, i) => `round ${i + 1}`);
        const completed = (ms: BurstResult[]) => ms.flatMap((m) => m.completionMs).sort((a, b) => a - b);
        const gwDone = completed(gw);
        const rawDone = completed(rawM);
        const range = [Math.min(gwDone[0] ?? 0, rawDone[0] ?? 0), Math.max(gwDone.at(-1) ?? 0, rawDone.at(-1) ?? 0)] as const;
        return {
          figures: {
            ...base,
            gateway_deliveries: g.deliveries,
            gateway_cpu_s: g.cpu,
            gateway_wall_s: g.wall,
            gateway_deliveries_per_cpu_s: Math.round(g.deliveries / Math.max(g.cpu, 0.01)),
            raw_deliveries: w.deliveries,
            raw_cpu_s: w.cpu,
            raw_wall_s: w.wall,
            raw_deliveries_per_cpu_s: Math.round(w.deliveries / Math.max(w.cpu, 0.01)),
            ratio: ratio.median,
            ratio_of_totals: g.deliveries / Math.max(g.cpu, 0.01) / (w.deliveries / Math.max(w.cpu, 0.01)),
            round_ratio_min: ratio.min,
            round_ratio_max: ratio.max,
            ratio_spread: ratio.spread,
            ratio_unsettled: ratio.unsettled ? 1 : 0,
            ...peerFigures,
          },
          rows,
          charts: [
            {
              title: "Deliveries per server CPU-second, per round",
              kind: "bar",
              xLabel: "round",
              yLabel: "deliveries / CPU-s",
              labels,
              series: [{ label: GATEWAY, data: gw.map(perCpuSecond) }, ...peers.map((p) => ({ label: p.name, data: p.runs.map(perCpuSecond) }))],
            },
            {
              title: "Deliveries per wall second, per round",
              kind: "bar",
              xLabel: "round",
              yLabel: "deliveries / s",
              labels,
              series: [
                { label: GATEWAY, data: gw.map((m) => m.deliveries / m.wall) },
                ...peers.map((p) => ({ label: p.name, data: p.runs.map((m) => m.deliveries / m.wall) })),
              ],
            },
            {
              title: `Time from the burst's start to a connection's last delivery (CDF over connections, ${ROUNDS} rounds)`,
              kind: "cdf",
              xLabel: "ms",
              yLabel: "fraction of connections",
              series: [
                { label: GATEWAY, data: cdfPoints(gwDone) },
                { label: RAW, data: cdfPoints(rawDone) },
              ],
            },
            {
              title: `Time from the burst's start to a connection's last delivery (histogram, ${ROUNDS} rounds)`,
              kind: "histogram",
              xLabel: "ms",
              yLabel: "connections",
              series: [
                { label: GATEWAY, data: histogramPoints(gwDone, 30, range) },
                { label: RAW, data: histogramPoints(rawDone, 30, range) },
              ],
            },
          ],
          target: { text: target, met },
          notes,
        };
      } finally {
        for (const p of peers) p.proc.kill("SIGTERM");
      }
    } finally {
      for (const c of clients) await c.close();
      await stack.stop();
    }
  },
};

/** Opens the connections with a progress line. */
async function openWithProgress(ctx: ScenarioContext, name: string, client: LoadClient, o: Parameters<LoadClient["open"]>[0]) {
  const phase = ctx.phase(name, { unit: "connections opened", total: o.headers.length });
  const opened = await client.open(o, (n) => phase.update(n));
  phase.end(opened.count);
  return opened;
}
