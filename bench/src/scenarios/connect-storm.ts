/**
 * connect-storm: connects per second on one gateway process, `hello` included, from the first
 * dial to the last connection's hello: reconnects of known users (each has connected once
 * before, then gone), and new users' first connects, reported apart; beside them a bare
 * uWebSockets.js server accepting the same number of upgrades without auth. The gateway's CPU
 * per connect is read from /proc. With BENCH_PROFILE_DIR set the gateway writes a CPU profile.
 */
import { startLoadStack } from "../load-stack.js";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { subjects } from "@switchboard/bus";
import { seedUsers } from "@switchboard/testkit";
import { pinToCpu, processCpuSeconds } from "../proc-cpu.js";
import { profiledNodeArgs, type ResultRow, type Scenario, type ScenarioContext } from "../scenario.js";
import { startLoadClient } from "../ws-load/load-client-pool.js";

const FULL_CONNECTIONS = 5_000;
const QUICK_CONNECTIONS = 1_000;
const SERVER_CPU = 0;
const LOAD_CPU = 1;
const TARGET = 5_000;
const GATEWAY = "Switchboard gateway";
const RAW = "raw uWS.js, no auth";

interface Storm {
  readonly connects: number;
  readonly wall: number;
  readonly cpu: number;
}

/** Opens one connection per header set and waits for a first frame on each (the gateway's hello), unless `frames` is 0. */
async function storm(
  ctx: ScenarioContext,
  name: string,
  port: number,
  path: string,
  pid: number,
  headers: Record<string, string>[],
  frames: number,
): Promise<Storm> {
  const client = await startLoadClient({ cpu: LOAD_CPU });
  try {
    const phase = ctx.phase(name, { unit: "connections opened", total: headers.length });
    const cpu0 = processCpuSeconds(pid);
    const t0 = performance.now();
    await client.open({ host: "127.0.0.1", port, path, headers }, (n) => phase.update(n));
    const deadline = t0 + 120_000;
    while (frames > 0 && (await client.count()).min < frames) {
      if (performance.now() > deadline) throw new Error(`${name}: not every connection had its hello within 120 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = processCpuSeconds(pid) - cpu0;
    phase.end(headers.length);
    ctx.log(`${name}: ${String(headers.length)} connects in ${wall.toFixed(2)} s, ${cpu.toFixed(2)} server CPU-s`);
    return { connects: headers.length, wall, cpu };
  } finally {
    await client.close();
  }
}

const row = (label: string, subject: string, s: Storm): ResultRow => ({
  label,
  subject,
  peer: subject !== GATEWAY,
  values: {
    connects: s.connects,
    wall_s: s.wall,
    cpu_s: s.cpu,
    connects_per_s: Math.round(s.connects / s.wall),
    connects_per_cpu_s: Math.round(s.connects / Math.max(s.cpu, 0.01)),
  },
});

export const scenario: Scenario = {
  name: "connect-storm",
  description: `connects per second on one gateway process, hello included (${FULL_CONNECTIONS}, QUICK ${QUICK_CONNECTIONS}): known users' reconnects and new users' first connects, beside raw uWS.js without auth`,
  async run(ctx) {
    const n = ctx.quick ? QUICK_CONNECTIONS : FULL_CONNECTIONS;
    const stack = await startLoadStack({ gatewayNodeArgs: profiledNodeArgs(), maxConnectionsPerUser: false });
    try {
      ctx.log(`seeding ${String(2 * n)} users`);
      const users = await seedUsers({ databaseUrl: stack.db.url, count: 2 * n });
      const auth = (u: { token: string }) => ({ Authorization: `Bearer ${u.token}` });
      const known = users.slice(0, n).map(auth);
      const fresh = users.slice(n).map(auth);
      const gwPid = stack.gateways[0]!.pid;
      pinToCpu(gwPid, SERVER_CPU);
      const port = Number(new URL(stack.gatewayUrls[0]!).port);
      const path = "/api/v4/websocket";
      // The known users connect once (not counted), go, and come back: the measured reconnects.
      await storm(ctx, "known users, first connects (warm-up)", port, path, gwPid, known, 1);
      const reconnects = await storm(ctx, "known users, reconnects", port, path, gwPid, known, 1);
      const firsts = await storm(ctx, "new users, first connects", port, path, gwPid, fresh, 1);
      const raw = spawn(process.execPath, [fileURLToPath(new URL("../raw/raw-uws-server.js", import.meta.url)), stack.nats.url, subjects.benchRawFrames], {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, ...stack.nats.env("bench") },
      });
      let rawStorm: Storm;
      try {
        const rawPort = await new Promise<number>((resolve) =>
          raw.stdout.once("data", (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port)),
        );
        pinToCpu(raw.pid!, SERVER_CPU);
        rawStorm = await storm(
          ctx,
          "raw uWS.js upgrades",
          rawPort,
          "/",
          raw.pid!,
          Array.from({ length: n }, () => ({})),
          0,
        );
      } finally {
        raw.kill("SIGTERM");
      }
      const perS = (s: Storm) => s.connects / s.wall;
      return {
        figures: {
          connections: n,
          reconnects_per_s: Math.round(perS(reconnects)),
          reconnects_per_cpu_s: Math.round(reconnects.connects / Math.max(reconnects.cpu, 0.01)),
          first_connects_per_s: Math.round(perS(firsts)),
          first_connects_per_cpu_s: Math.round(firsts.connects / Math.max(firsts.cpu, 0.01)),
          raw_upgrades_per_s: Math.round(perS(rawStorm)),
          raw_upgrades_per_cpu_s: Math.round(rawStorm.connects / Math.max(rawStorm.cpu, 0.01)),
        },
        rows: [row("reconnects", GATEWAY, reconnects), row("first connects", GATEWAY, firsts), row("upgrades", RAW, rawStorm)],
        charts: [
          {
            title: "Connects per second, one server process",
            kind: "bar",
            xLabel: "kind",
            yLabel: "connects / s",
            labels: ["known users' reconnects", "new users' first connects", "raw uWS.js, no auth"],
            series: [{ label: "connects / s", data: [perS(reconnects), perS(firsts), perS(rawStorm)] }],
          },
        ],
        target: { text: `>= ${String(TARGET)} reconnects per second per gateway process, hello included`, met: perS(reconnects) >= TARGET },
        notes: [
          `gateway and raw server pinned to CPU ${String(SERVER_CPU)}, the load client to CPU ${String(LOAD_CPU)}; the whole server side (gateway, NATS, accounts, presence, PostgreSQL) otherwise shares the machine`,
          "timed from the first dial to the last connection's hello (raw: its last upgrade); the load client dials 200 at a time",
          "reconnects: the same users a second time, after their first connects were closed",
        ],
      };
    } finally {
      await stack.stop();
    }
  },
};
