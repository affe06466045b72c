/**
 * The HTTP load generator's process: autocannon (a maintained npm load generator), and the only
 * module that imports it. Forked by http-load.ts, pinned to a core of its own; it gets one run's
 * options over IPC, gives each connection its own request (connection k sends `requests[k % n]`
 * over and over, so that concurrent writers do not queue on one channel), and sends back the
 * counts and latency percentiles, then exits.
 */
import autocannon from "autocannon";
import type { HttpLoadRequest, HttpLoadResult, HttpLoadRun } from "./http-load.js";

/** The percentiles autocannon's latency histogram keeps, as [percent, its key]. */
const PERCENTILES = [
  [1, "p1"],
  [10, "p10"],
  [25, "p25"],
  [50, "p50"],
  [75, "p75"],
  [90, "p90"],
  [97.5, "p97_5"],
  [99, "p99"],
  [99.9, "p99_9"],
  [99.99, "p99_99"],
] as const;

async function run(o: HttpLoadRun): Promise<HttpLoadResult> {
  let next = 0;
  const r = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.durationMs / 1000,
    timeout: 10,
    setupClient: (client) => {
      const q: HttpLoadRequest = o.requests[next++ % o.requests.length]!;
      client.setRequests([{ method: q.method, path: q.path, headers: q.headers, ...(q.body === undefined ? {} : { body: q.body }) }]);
    },
  });
  const statuses: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statuses[code] = s.count ?? 0;
  return {
    requests: r.requests.total,
    ok: r["2xx"],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    seconds: r.duration,
    statuses,
    latencyMs: { mean: r.latency.mean, max: r.latency.max, percentiles: PERCENTILES.map(([p, k]) => [p, r.latency[k]] as const) },
  };
}

process.once("message", (m: HttpLoadRun) => {
  run(m).then(
    (result) => process.send!({ type: "result", result }, () => process.exit(0)),
    (e: unknown) => process.send!({ type: "error", error: String(e) }, () => process.exit(1)),
  );
});
process.send!({ type: "ready" });
