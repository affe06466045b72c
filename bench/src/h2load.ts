/**
 * h2load (nghttp2's HTTP/2 load generator, written in C) as a gRPC load generator: one
 * connection with N streams in flight, the same gRPC-framed request on every stream, each
 * request's latency from its per-request log. A caller that costs a few microseconds per call,
 * so that what is measured is the server, not the JavaScript client driving it.
 *
 * h2load reads only HTTP status codes; a gRPC error still answers 200. Every answer is checked
 * instead by its size: the caller gives the exact response message's length, and the run fails
 * unless every completed call received a full answer's DATA bytes (an error carries none; see
 * checkSummary). Callers also count the server's own OK answers.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile } from "./closed-loop.js";
import { grpcFrame } from "./grpc-frame.js";

export interface H2LoadOptions {
  /** http://127.0.0.1:port/package.Service/Method */
  readonly url: string;
  /** The request message, unframed. */
  readonly request: Uint8Array;
  /** The exact length of the response message every call must receive, unframed. */
  readonly responseBytes: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly inFlight: number;
  readonly durationMs: number;
}

export interface H2LoadResult {
  readonly count: number;
  readonly callsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU seconds h2load itself used (user + system). */
  readonly clientCpuS: number;
}

function run(cmd: string, args: string[]): Promise<{ stdout: string; cpuS: number }> {
  return new Promise((resolve, reject) => {
    // `time -f` is not everywhere; the child's rusage comes from the shell's `times` instead.
    const script = `"$@" && times`;
    execFile("sh", ["-c", script, "sh", cmd, ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${cmd} failed: ${String(err.message)}\n${stderr}`));
      // `times` prints the shell's then its children's user and system time: "0m1.234s 0m0.567s".
      const lines = stdout.trimEnd().split("\n");
      const children = lines.at(-1)!.trim().split(/\s+/);
      const secs = (t: string): number => {
        const m = /^(\d+)m([\d.]+)s$/.exec(t);
        return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
      };
      resolve({ stdout: lines.slice(0, -2).join("\n"), cpuS: secs(children[0] ?? "") + secs(children[1] ?? "") });
    });
  });
}

export async function h2load(o: H2LoadOptions): Promise<H2LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), "sb-h2load-"));
  try {
    const body = join(dir, "request.bin");
    const log = join(dir, "requests.log");
    await writeFile(body, grpcFrame(o.request));
    const args = ["-c", "1", "-t", "1", "-m", String(o.inFlight), "-D", `${String(Math.max(1, Math.round(o.durationMs)))}ms`, "-d", body, "--log-file", log];
    const headers = { "content-type": "application/grpc", te: "trailers", ...o.headers };
    for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
    args.push(o.url);
    const { stdout, cpuS } = await run("h2load", args);

    const succeeded = checkSummary(stdout, o.responseBytes);
    const latencies = latenciesFromLog(await readFile(log, "utf8"));
    if (latencies.count < succeeded) throw new Error(`h2load logged ${String(latencies.count)} of ${String(succeeded)} completed calls`);
    return {
      count: latencies.count,
      callsPerS: latencies.count / latencies.seconds,
      p50Ms: percentile(latencies.ms, 50),
      p99Ms: percentile(latencies.ms, 99),
      clientCpuS: cpuS,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Checks h2load's summary: no call failed or errored, and every completed call received the
 * full answer of `responseBytes` (plus its 5-byte gRPC frame). Calls cut off by the end of
 * the run have their headers and part of their data, so the data may exceed the completed
 * calls' share by at most the cut-off calls' full answers. Returns the completed calls.
 */
export function checkSummary(stdout: string, responseBytes: number): number {
  const done = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(stdout);
  const status2xx = /status codes: (\d+) 2xx/.exec(stdout);
  const data = /traffic: .*, [\d.]+\w*B \((\d+)\) data/.exec(stdout);
  if (!done || !status2xx || !data) throw new Error(`unexpected h2load output:\n${stdout}`);
  const [succeeded, failed, errored] = [Number(done[2]), Number(done[3]), Number(done[4])];
  if (failed > 0 || errored > 0 || succeeded === 0)
    throw new Error(`h2load: ${String(failed)} failed, ${String(errored)} errored of ${String(done[1])}\n${stdout}`);
  const dataBytes = Number(data[1]);
  const frame = 5 + responseBytes;
  if (dataBytes < succeeded * frame || dataBytes > Number(status2xx[1]) * frame) {
    throw new Error(
      `h2load: ${String(dataBytes)} response bytes for ${String(succeeded)} calls of ${String(frame)} bytes: some calls did not get the full answer\n${stdout}`,
    );
  }
  return succeeded;
}

/**
 * h2load's per-request log, one row per completed request: start (µs since the epoch), HTTP
 * status, duration (µs). Latencies in ms, ascending, and the seconds from the first start to
 * the last end. Any status but 200 fails the run.
 */
export function latenciesFromLog(text: string): { ms: number[]; count: number; seconds: number } {
  const ms: number[] = [];
  let first = Infinity;
  let last = 0;
  for (const row of text.trimEnd().split("\n")) {
    if (row === "") continue;
    const [start, status, micros] = row.split("\t").map(Number) as [number, number, number];
    if (status !== 200) throw new Error(`h2load: HTTP ${String(status)} in the request log`);
    ms.push(micros / 1000);
    first = Math.min(first, start);
    last = Math.max(last, start + micros);
  }
  ms.sort((a, b) => a - b);
  return { ms, count: ms.length, seconds: (last - first) / 1e6 };
}
