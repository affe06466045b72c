/**
 * What the acceptance tests read off each gateway's ops port while they break the cluster:
 * its /readyz as a timeline (every change, with the reasons it gave), and its recovery
 * counters (/metrics), so a test can show that readiness went false and came back, and that
 * every hole, read-back and resync the gateways went through is counted, none silent.
 */
import type { ClusterGateway } from "@switchboard/testkit";

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

/** The sum of a metric's series in a /metrics text (those whose labels include `label`, if given). */
function metricSum(text: string, name: string, label = ""): number {
  return text
    .split("\n")
    .filter((l) => (l.startsWith(name + " ") || l.startsWith(name + "{")) && l.includes(label))
    .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
}

async function metricsText(g: ClusterGateway): Promise<string> {
  return (await fetch(`http://127.0.0.1:${g.opsPort}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
}

/** The gateway's open WebSocket connections now. */
export async function socketsOn(g: ClusterGateway): Promise<number> {
  return metricSum(await metricsText(g), "sb_gateway_sockets");
}

/** One gateway's recovery counters now. */
export async function recoveryCounts(g: ClusterGateway): Promise<RecoveryCounts> {
  const text = await metricsText(g);
  const sum = (name: string, label: string): number => metricSum(text, name, label);
  const out = {} as RecoveryCounts;
  for (const [k, [name, label]] of Object.entries(RECOVERY_METRICS)) out[k as keyof RecoveryCounts] = sum(name, label);
  return out;
}

/** after − before, per counter. */
export function countsSince(before: RecoveryCounts, after: RecoveryCounts): RecoveryCounts {
  const out = {} as RecoveryCounts;
  for (const k of Object.keys(RECOVERY_METRICS) as (keyof RecoveryCounts)[]) out[k] = after[k] - before[k];
  return out;
}
