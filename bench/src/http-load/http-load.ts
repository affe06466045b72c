/**
 * HTTP load from autocannon (autocannon-run.ts, the only module that imports it), run in a
 * process of its own pinned to a core, so that the load generator's CPU is neither the bench's
 * nor the server's. A run is closed loop: `connections` keep-alive connections, each sending its
 * next request when the last is answered, for `durationMs`.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface HttpLoadRequest {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface HttpLoadRun {
  /** The server's origin, e.g. http://127.0.0.1:8065. */
  readonly url: string;
  readonly connections: number;
  readonly durationMs: number;
  /** Connection k sends requests[k % n], again and again. */
  readonly requests: readonly HttpLoadRequest[];
}

export interface HttpLoadResult {
  /** Requests answered, and of those with a 2xx status; non2xx and errors (timeouts included) apart. */
  readonly requests: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly seconds: number;
  /** Answers by status code. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Per request, ms: mean, max, and [percent, value] pairs ascending (autocannon's HDR histogram, 1 ms resolution). */
  readonly latencyMs: { readonly mean: number; readonly max: number; readonly percentiles: readonly (readonly [number, number])[] };
}

/** The value at `p` percent of a result's latency percentiles (one of those autocannon keeps). */
export function latencyAt(r: HttpLoadResult, p: number): number {
  const hit = r.latencyMs.percentiles.find(([q]) => q === p);
  if (!hit) throw new Error(`autocannon keeps no p${String(p)}`);
  return hit[1];
}

/** Runs autocannon once in a child process (on `cpu` when given) and returns what it measured. */
export async function runHttpLoad(o: HttpLoadRun & { readonly cpu?: number }): Promise<HttpLoadResult> {
  const entry = fileURLToPath(new URL("./autocannon-run.js", import.meta.url));
  const child =
    o.cpu !== undefined
      ? fork(entry, [], { execPath: "taskset", execArgv: ["-c", String(o.cpu), process.execPath], stdio: ["ignore", "inherit", "inherit", "ipc"] })
      : fork(entry, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const { url, connections, durationMs, requests } = o;
  return new Promise<HttpLoadResult>((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`autocannon did not finish within ${String(durationMs + 30_000)} ms`));
    }, durationMs + 30_000);
    child.on("message", (m: { type: string; result?: HttpLoadResult; error?: string }) => {
      if (m.type === "ready") child.send({ url, connections, durationMs, requests } satisfies HttpLoadRun);
      else if (m.type === "result") resolve(m.result!);
      else if (m.type === "error") reject(new Error(`autocannon: ${m.error ?? "failed"}`));
    });
    child.once("exit", (code) => {
      clearTimeout(deadline);
      reject(new Error(`autocannon's process exited (${String(code)}) without a result`));
    });
  });
}
