/** Parent side of the load client: forks it, opens connections, polls delivery counts. */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface LoadClient {
  readonly pid: number;
  /** `checkSeq`: check each connection's event seq runs 0, 1, 2, ... (see load-client.ts). */
  open(o: { host: string; port: number; path: string; headers: Record<string, string>[]; checkSeq?: boolean }): Promise<{ count: number; ms: number }>;
  /** Text frames received: all of them, `posted` events only, and the fewest on one connection. */
  /** `seqErrors`: events whose seq was not their connection's next one (with checkSeq). */
  count(): Promise<{ total: number; posted: number; min: number; seqErrors: number }>;
  close(): Promise<void>;
}

export async function startLoadClient(o: { cpu?: number } = {}): Promise<LoadClient> {
  const entry = fileURLToPath(new URL("./load-client.js", import.meta.url));
  const child: ChildProcess =
    o.cpu !== undefined
      ? fork(entry, [], { execPath: "taskset", execArgv: ["-c", String(o.cpu), process.execPath], stdio: ["ignore", "inherit", "inherit", "ipc"] })
      : fork(entry, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const next = <T>(type: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const on = (m: { type: string; error?: string }) => {
        if (m.type === type) {
          child.off("message", on);
          resolve(m as T);
        } else if (m.type === "error") {
          child.off("message", on);
          reject(new Error(m.error));
        }
      };
      child.on("message", on);
    });
  await next("ready");
  return {
    pid: child.pid!,
    async open(req) {
      child.send({ type: "open", ...req });
      return next("opened");
    },
    async count() {
      child.send({ type: "count" });
      return next("count");
    },
    async close() {
      if (child.exitCode !== null) return;
      child.send({ type: "close" });
      await new Promise((r) => child.once("exit", r));
    },
  };
}
