/**
 * What a gateway says about itself on its ops port, read the way an operator (or Kubernetes)
 * would, while the acceptance tests break the cluster: its Prometheus counters and gauges from
 * /metrics (every hole, read-back and resync counted, none silent), and its /readyz answers as
 * a timeline (every change, with the reasons it gave). A paused gateway answers nothing, so
 * every request has a short deadline and "unreachable" is a state of its own.
 */
import type { ClusterGateway } from "@switchboard/testkit";

/** Samples of /metrics: `name{labels}` (as printed) → value. */
export type Metrics = ReadonlyMap<string, number>;

export async function gatewayMetrics(opsPort: number): Promise<Metrics> {
  const r = await fetch(`http://127.0.0.1:${opsPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
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
  /** Unix ms of the first answer with this state. */
  readonly at: number;
  readonly ready: boolean;
  readonly reasons: readonly string[];
}

export interface ReadinessWatch {
  readonly gateway: string;
  /** Every change of state, from the first answer on (an unanswered poll is "unreachable"). */
  readonly timeline: readonly ReadinessChange[];
  /** The last answer. */
  readonly ready: boolean;
  /** When it was first seen not ready, and then ready for good after that (0: not yet). */
  readonly notReadyAt: number;
  readonly readyAgainAt: number;
  /** Every reason it gave for not being ready. */
  readonly reasons: ReadonlySet<string>;
  stop(): void;
}

/** Polls the gateway's /readyz every `intervalMs`, keeping each change of its answer. */
export function watchReadiness(g: ClusterGateway, intervalMs = 100): ReadinessWatch {
  const timeline: ReadinessChange[] = [];
  const reasons = new Set<string>();
  let inFlight = false;
  const poll = async (): Promise<void> => {
    let ready = false;
    let why: string[];
    try {
      const r = await fetch(`http://127.0.0.1:${g.opsPort}/readyz`, { signal: AbortSignal.timeout(1_000) });
      const body = (await r.json()) as { ready: boolean; reasons?: string[] };
      ready = body.ready;
      why = body.reasons ?? [];
    } catch {
      why = ["unreachable"];
    }
    for (const w of why) if (!ready) reasons.add(w);
    const last = timeline.at(-1);
    if (!last || last.ready !== ready || last.reasons.join() !== why.join()) timeline.push({ at: Date.now(), ready, reasons: why });
  };
  const t = setInterval(() => {
    if (inFlight) return;
    inFlight = true;
    void poll().finally(() => (inFlight = false));
  }, intervalMs);
  return {
    gateway: g.name,
    timeline,
    reasons,
    get ready() {
      return timeline.at(-1)?.ready ?? false;
    },
    get notReadyAt() {
      return timeline.find((c) => !c.ready)?.at ?? 0;
    },
    get readyAgainAt() {
      const firstDown = timeline.findIndex((c) => !c.ready);
      const last = timeline.at(-1);
      return firstDown >= 0 && last?.ready ? last.at : 0;
    },
    stop: () => clearInterval(t),
  };
}

/** The timeline relative to `t0`, for a figure line: `+120ms not ready (nats not ready)`. */
export function timelineText(w: ReadinessWatch, t0: number): string[] {
  return w.timeline.map((c) => `${c.at - t0 >= 0 ? "+" : ""}${c.at - t0}ms ${c.ready ? "ready" : `not ready (${c.reasons.join("; ")})`}`);
}

/** The recovery counters of the gateways, summed over their series. */
const RECOVERY_METRICS = {
  readBackStream: ["sb_gateway_backfilled_events_total", 'source="stream"'],
  fromDatabase: ["sb_gateway_backfilled_events_total", 'source="database"'],
  gaps: ["sb_gateway_channel_gaps_total", ""],
  gapsUnrepaired: ["sb_gateway_channel_gaps_unrepaired_total", ""],
  outageResyncs: ["sb_gateway_outage_resyncs_total", ""],
  canaryMisses: ["sb_gateway_canary_misses_total", ""],
  resyncCloses: ["sb_gateway_socket_closes_total", 'code="4505"'],
} as const;

export type RecoveryCounts = { -readonly [K in keyof typeof RECOVERY_METRICS]: number };

/** The gateway's open WebSocket connections now. */
export async function socketsOn(g: ClusterGateway): Promise<number> {
  return metricSum(await gatewayMetrics(g.opsPort), "sb_gateway_sockets");
}

/** One gateway's recovery counters now. */
export async function recoveryCounts(g: ClusterGateway): Promise<RecoveryCounts> {
  const m = await gatewayMetrics(g.opsPort);
  const out = {} as RecoveryCounts;
  for (const [k, [name, label]] of Object.entries(RECOVERY_METRICS)) out[k as keyof RecoveryCounts] = metricSum(m, name, label);
  return out;
}

/** after − before, per counter. */
export function countsSince(before: RecoveryCounts, after: RecoveryCounts): RecoveryCounts {
  const out = {} as RecoveryCounts;
  for (const k of Object.keys(RECOVERY_METRICS) as (keyof RecoveryCounts)[]) out[k] = after[k] - before[k];
  return out;
}
