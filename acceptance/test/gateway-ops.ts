/**
 * What a gateway says about itself on its ops port, read the way an operator (or Kubernetes)
 * would: its Prometheus counters and gauges from /metrics, and its /readyz answers over time.
 * A paused gateway answers nothing, so every request has a short deadline and "no answer" is
 * a state of its own in the timeline.
 */

/** Samples of /metrics: `name{labels}` (as printed) → value. */
export type Metrics = ReadonlyMap<string, number>;

export async function gatewayMetrics(opsPort: number): Promise<Metrics> {
  const r = await fetch(`http://127.0.0.1:${opsPort}/metrics`, { signal: AbortSignal.timeout(2_000) });
  const m = new Map<string, number>();
  for (const line of (await r.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

/** The sum of a metric's samples whose labels contain `labels` (e.g. `result="missed"`). */
export function metricSum(m: Metrics, name: string, labels = ""): number {
  let n = 0;
  for (const [k, v] of m) {
    const bare = k.split("{")[0];
    if (bare === name && k.includes(labels)) n += v;
  }
  return n;
}

/** The metrics a fault is judged by, as a flat record for a figure line. */
export function faultMetrics(m: Metrics): Record<string, number> {
  const names = [
    "sb_gateway_sockets",
    "sb_gateway_channel_gaps_total",
    "sb_gateway_channel_gaps_unrepaired_total",
    "sb_gateway_outage_resyncs_total",
    "sb_gateway_canary_misses_total",
    "sb_gateway_slow_closes_total",
    "sb_gateway_queue_overflows_total",
    "sb_gateway_stalled_sockets",
  ];
  const out: Record<string, number> = {};
  for (const n of names) out[n] = metricSum(m, n);
  for (const source of ["stream", "database"]) out[`backfilled{source=${source}}`] = metricSum(m, "sb_gateway_backfilled_events_total", `source="${source}"`);
  for (const result of ["claimed", "missed", "refused", "gap"])
    out[`resume_claims{${result}}`] = metricSum(m, "sb_gateway_resume_claims_total", `result="${result}"`);
  return out;
}

interface ReadinessChange {
  /** ms since the watch started. */
  readonly atMs: number;
  /** "ready", "not ready: <reasons>", or "no answer". */
  readonly state: string;
}

export interface ReadinessWatch {
  /** Unix ms the watch started (timeline times count from it). */
  readonly startedAt: number;
  /** Each change of state, the first answer included. */
  readonly timeline: readonly ReadinessChange[];
  stop(): void;
}

/** Polls /readyz every `everyMs` (each answer due within the interval) and keeps the changes. */
export function watchReadiness(opsPort: number, everyMs = 100): ReadinessWatch {
  const started = Date.now();
  const timeline: ReadinessChange[] = [];
  let busy = false;
  const note = (state: string): void => {
    if (timeline.at(-1)?.state !== state) timeline.push({ atMs: Date.now() - started, state });
  };
  const t = setInterval(() => {
    if (busy) return;
    busy = true;
    fetch(`http://127.0.0.1:${opsPort}/readyz`, { signal: AbortSignal.timeout(everyMs * 3) })
      .then(async (r) => {
        const body = (await r.json()) as { ready?: boolean; reasons?: string[] };
        note(body.ready ? "ready" : `not ready: ${(body.reasons ?? []).join(",")}`);
      })
      .catch(() => note("no answer"))
      .finally(() => (busy = false));
  }, everyMs);
  return { startedAt: started, timeline, stop: () => clearInterval(t) };
}
