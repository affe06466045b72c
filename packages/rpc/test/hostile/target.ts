/**
 * The attacked server as a child process (target-server.mjs, run from the built packages) and
 * what the suite measures of it: its RSS, sampled from /proc/<pid>/status while an attack runs
 * and reported after a full GC over IPC, and its handlers in flight.
 */
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { waitFor } from "@switchboard/testkit";
import type { RpcServerTransport } from "../../src/index.js";

const ENTRY = fileURLToPath(new URL("./target-server.mjs", import.meta.url));

export interface Stats {
  readonly rss: number;
  readonly heapUsed: number;
  readonly active: number;
  readonly started: number;
  readonly maxActive: number;
}

export interface Target {
  readonly pid: number;
  readonly port: number;
  readonly transport: RpcServerTransport;
  stats(gc: boolean): Promise<Stats>;
  resetMax(): Promise<void>;
  /** Samples VmRSS every few ms until the returned stop() is called; stop() gives the peak. */
  sampleRss(): () => number;
  stop(): Promise<void>;
}

export const MB = 1 << 20;

function vmRss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export async function startTarget(transport: RpcServerTransport, databaseUrl: string, env: Record<string, string> = {}): Promise<Target> {
  const child: ChildProcess = fork(ENTRY, [], {
    // The young generation at a fixed size: V8 grows it under any load and gives it back only
    // when idle, which would show up here as RSS the attack kept (under a busy machine's
    // slower GC, +15 to +22 MB with the JS heap back within 1 MB); fixed, the baseline holds it.
    execArgv: ["--expose-gc", "--min-semi-space-size=16", "--max-semi-space-size=16"],
    env: { PATH: process.env.PATH ?? "", TRANSPORT: transport, DATABASE_URL: databaseUrl, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const replies: Record<string, unknown>[] = [];
  let exited = false;
  child.on("message", (m) => replies.push(m as Record<string, unknown>));
  child.on("exit", () => (exited = true));
  const next = async <R>(type: string): Promise<R> =>
    waitFor(
      () => {
        if (exited) throw new Error("the target process exited");
        const i = replies.findIndex((r) => r.type === type);
        return i < 0 ? undefined : (replies.splice(i, 1)[0] as R);
      },
      { timeoutMs: 20_000, intervalMs: 5, what: `${type} from the target` },
    );
  const ready = await next<{ port: number }>("ready");
  const pid = child.pid!;
  return {
    pid,
    port: ready.port,
    transport,
    async stats(gc) {
      child.send({ type: "stats", gc });
      return next<Stats>("stats");
    },
    async resetMax() {
      child.send({ type: "resetMax" });
      await next("resetMax");
    },
    sampleRss() {
      let peak = vmRss(pid);
      const t = setInterval(() => (peak = Math.max(peak, vmRss(pid))), 10);
      return () => {
        clearInterval(t);
        return Math.max(peak, vmRss(pid));
      };
    },
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.disconnect();
      const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await gone;
      clearTimeout(kill);
    },
  };
}
