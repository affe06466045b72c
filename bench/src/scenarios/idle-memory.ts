/**
 * idle-memory: RSS per idle connection on one gateway process, each connection authenticated
 * and past its `hello`: (RSS after − RSS before) / N, each read after a forced full GC (through
 * the process's inspector, inspector-gc.ts), resume buffers at their production size (the
 * gateway's defaults). Beside it raw uWS.js, `ws` and Socket.IO holding the same number of
 * sockets, measured alike.
 */
import { startLoadStack } from "../load-stack.js";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { subjects } from "@switchboard/bus";
import { seedPopulation, waitFor } from "@switchboard/testkit";
import { collectGarbage, freePort } from "../inspector-gc.js";
import { processRssBytes } from "../proc-cpu.js";
import type { ResultRow, Scenario, ScenarioContext } from "../scenario.js";
import { startLoadClient, type LoadClient } from "../ws-load/load-client-pool.js";

const FULL_CONNECTIONS = 19_000;
const QUICK_CONNECTIONS = 2_000;
const USERS = 100;
const TARGET_BYTES = 3 * 1024;
const LOAD_CPU = 1;
const GATEWAY = "Switchboard gateway";

const PEERS = [
  { key: "raw", name: "raw uWS.js", script: "../raw/raw-uws-server.js", path: "/", socketIo: false },
  { key: "ws", name: "ws", script: "../raw/ws-broadcast-server.js", path: "/", socketIo: false },
  { key: "socketio", name: "Socket.IO", script: "../raw/socketio-room-server.js", path: "/socket.io/?EIO=4&transport=websocket", socketIo: true },
] as const;

/** Opens the connections, waits for `frames` frames on each, and returns the RSS growth per connection after a full GC on both sides. */
async function perConnection(
  ctx: ScenarioContext,
  name: string,
  pid: number,
  inspect: number,
  o: Parameters<LoadClient["open"]>[0],
  frames: number,
): Promise<{ bytes: number; client: LoadClient }> {
  await collectGarbage(inspect);
  const before = processRssBytes(pid);
  const client = await startLoadClient({ cpu: LOAD_CPU });
  const phase = ctx.phase(`${name} connections`, { unit: "connections opened", total: o.headers.length });
  await client.open(o, (n) => phase.update(n));
  phase.end(o.headers.length);
  await waitFor(async () => (await client.count()).min >= frames, { timeoutMs: 120_000, what: `${name}: ${String(frames)} frame(s) on every connection` });
  await collectGarbage(inspect);
  const bytes = (processRssBytes(pid) - before) / o.headers.length;
  ctx.log(`${name}: ${(bytes / 1024).toFixed(2)} KiB per connection`);
  return { bytes, client };
}

export const scenario: Scenario = {
  name: "idle-memory",
  description: `RSS per authenticated idle connection on one gateway process (${FULL_CONNECTIONS}, QUICK ${QUICK_CONNECTIONS}) after a full GC, beside raw uWS.js, ws and Socket.IO`,
  async run(ctx) {
    const n = ctx.quick ? QUICK_CONNECTIONS : FULL_CONNECTIONS;
    const inspect = await freePort();
    const stack = await startLoadStack({ gatewayNodeArgs: [`--inspect=127.0.0.1:${String(inspect)}`] });
    const clients: LoadClient[] = [];
    try {
      const pop = await seedPopulation({ databaseUrl: stack.db.url, postsAddr: stack.addrs.posts, users: USERS, channels: 1, membersPerChannel: USERS });
      const headers = Array.from({ length: n }, (_, i) => ({ Authorization: `Bearer ${pop.users[i % USERS]!.token}` }));
      const port = Number(new URL(stack.gatewayUrls[0]!).port);
      const gw = await perConnection(ctx, GATEWAY, stack.gateways[0]!.pid, inspect, { host: "127.0.0.1", port, path: "/api/v4/websocket", headers }, 1);
      clients.push(gw.client);
      const rows: ResultRow[] = [{ label: "idle", subject: GATEWAY, peer: false, values: { connections: n, bytes_per_connection: gw.bytes } }];
      const figures: Record<string, number> = { connections: n, gateway_bytes_per_connection: Math.round(gw.bytes) };
      for (const p of PEERS) {
        const pInspect = await freePort();
        const proc = spawn(
          process.execPath,
          [`--inspect=127.0.0.1:${String(pInspect)}`, fileURLToPath(new URL(p.script, import.meta.url)), stack.nats.url, subjects.benchRawFrames],
          {
            stdio: ["ignore", "pipe", "ignore"],
            env: { ...process.env, ...stack.nats.env("bench") },
          },
        );
        try {
          const pPort = await new Promise<number>((resolve) =>
            proc.stdout.once("data", (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port)),
          );
          const m = await perConnection(
            ctx,
            p.name,
            proc.pid!,
            pInspect,
            { host: "127.0.0.1", port: pPort, path: p.path, headers: Array.from({ length: n }, () => ({})), socketIo: p.socketIo },
            p.socketIo ? 2 : 0,
          );
          await m.client.close();
          rows.push({ label: "idle", subject: p.name, peer: true, values: { connections: n, bytes_per_connection: m.bytes } });
          figures[`${p.key}_bytes_per_connection`] = Math.round(m.bytes);
        } finally {
          proc.kill("SIGTERM");
        }
      }
      return {
        figures,
        rows,
        charts: [
          {
            title: "RSS per idle connection after a full GC",
            kind: "bar",
            xLabel: "server",
            yLabel: "bytes",
            labels: rows.map((r) => r.subject),
            series: [{ label: "bytes per connection", data: rows.map((r) => r.values.bytes_per_connection ?? 0) }],
          },
        ],
        target: { text: `gateway <= ${String(TARGET_BYTES)} bytes of RSS per authenticated idle connection`, met: gw.bytes <= TARGET_BYTES },
        notes: [
          "RSS from /proc/<pid>/status, each reading after HeapProfiler.collectGarbage through the process's inspector (--inspect on a loopback port); the gateway runs with its production resume-buffer defaults",
          `gateway connections: ${String(USERS)} users, each connection past its hello; peers: plain upgrades (Socket.IO: connected to its default namespace)`,
        ],
      };
    } finally {
      for (const c of clients) await c.close();
      await stack.stop();
    }
  },
};
