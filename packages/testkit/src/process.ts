import { spawn, type ChildProcess } from "node:child_process";
import { waitFor } from "./wait.js";

const EXITED = Symbol("exited");

export interface SpawnOptions {
  /** Node entry script (a built dist/main.js). */
  readonly entry: string;
  /** Runs this command instead of `node <entry>` (a container engine running an image, say); `entry` then only names it. */
  readonly command?: readonly [string, ...string[]];
  readonly env: Readonly<Record<string, string>>;
  /** Resolves when a JSON log line has this `msg` (default "ready"). */
  readonly readyMsg?: string;
  readonly readyTimeoutMs?: number;
  /** Extra node flags (e.g. --cpu-prof for profiling a deployable under load). */
  readonly nodeArgs?: readonly string[];
  /** Sees every output line as it comes (stdout's JSON, or stderr's text), e.g. to print it. */
  readonly onLine?: (line: string) => void;
}

export interface ChildHandle {
  readonly pid: number;
  /** Every JSON log line so far. */
  readonly logs: readonly Record<string, unknown>[];
  /** The fields of the ready line (ports etc.): a flat JSON log line, so scalars. */
  readonly ready: Readonly<Record<string, string | number | boolean | null>>;
  signal(sig: NodeJS.Signals): void;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  /** The last 8,000 characters the process wrote to stderr (a crash's stack, say). */
  readonly stderr: string;
  /** Waits for a log line matching the predicate. */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * SB_RPC_SERVER as the test run has it (a vitest project sets it to run suites on the other gRPC
 * server implementation), for the deployables a test starts: spawned ones get it by themselves.
 */
export function rpcServerEnv(): Record<string, string> {
  const v = process.env.SB_RPC_SERVER;
  return v ? { SB_RPC_SERVER: v } : {};
}

/** Runs a deployable as a real child process, parsing its JSON log lines. */
export async function spawnProcess(o: SpawnOptions): Promise<ChildHandle> {
  const [file, ...args] = o.command ?? [process.execPath, ...(o.nodeArgs ?? []), o.entry];
  const child: ChildProcess = spawn(file, args, {
    env: { PATH: process.env.PATH ?? "", ...rpcServerEnv(), ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let buf = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      o.onLine?.(line);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: "(non-json)", line });
      }
    }
  });
  child.stderr!.on("data", (d: Buffer) => {
    if (o.onLine) for (const l of d.toString().split("\n")) if (l) o.onLine(l);
    stderr = (stderr + d.toString()).slice(-8000);
  });
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, sig) => resolve(code ?? sig ?? -1)));
  let exitedNow: number | string | undefined;
  void exited.then((c) => (exitedNow = c));

  // Its output is complete once stdio closes: a process that exited fails the wait at once.
  let closed = false;
  child.once("close", () => (closed = true));
  const waitForLog = async (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000) => {
    const hit = await waitFor(() => logs.find(pred) ?? (closed && exitedNow !== undefined ? EXITED : undefined), {
      timeoutMs,
      what: `log line from ${o.entry}`,
    });
    if (hit === EXITED) throw new Error(`process exited (${exitedNow}); stderr: ${stderr}; last logs: ${JSON.stringify(logs.slice(-5))}`);
    return hit;
  };
  const readyMsg = o.readyMsg ?? "ready";
  const ready = await waitForLog((l) => l.msg === readyMsg, o.readyTimeoutMs ?? 30_000);
  return {
    pid: child.pid!,
    logs,
    ready: ready as ChildHandle["ready"],
    get stderr() {
      return stderr;
    },
    signal: (sig) => child.kill(sig),
    exited,
    waitForLog,
    async stop(graceMs = 10_000) {
      if (exitedNow !== undefined) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}
