/**
 * The one description of a Switchboard cluster on one machine: how many of each part, the
 * ingress port, and every timing the parts must agree on (HAProxy's health checks against the
 * gateways' pre-stop delay, its WebSocket timeouts against the gateways' pings). `make cluster`
 * (scripts/cluster.mjs) and the tests (startCluster) both read it; nothing else states them.
 */
import { spawnSync } from "node:child_process";

export type ClusterSize = "full" | "test";

export interface Topology {
  readonly size: ClusterSize;
  /** NATS servers in one cluster (routes between all of them). */
  readonly natsNodes: number;
  /** Replicas of the JetStream streams and KV buckets the services create. */
  readonly natsReplicas: number;
  /** Processes of each gRPC service. */
  readonly services: { readonly accounts: number; readonly posts: number; readonly presence: number };
  /**
   * Connections each database-backed replica (accounts, posts) may open: all of them together
   * stay under PostgreSQL's default max_connections (100), with room for the tools beside them.
   */
  readonly dbPoolSize: number;
  /** Gateways behind HAProxy at start. */
  readonly gateways: number;
  /** HAProxy's server-template size: gateways that can be added while it runs. */
  readonly gatewaySlots: number;
  /** The ingress (HAProxy's frontend); port 0 = a free port. */
  readonly ingress: { readonly host: string; readonly port: number };
  readonly gateway: {
    /** SB_GATEWAY_IDLE_TIMEOUT_S: a socket silent this long is closed; pings go out at half. */
    readonly idleTimeoutS: number;
    /** SB_GATEWAY_PRESTOP_DELAY_MS: after SIGTERM, /readyz says not ready while it still accepts. */
    readonly preStopDelayMs: number;
    /** SB_GATEWAY_SHUTDOWN_DEADLINE_MS: the whole graceful stop; the launcher SIGKILLs 5 s after it (the grace period). */
    readonly shutdownDeadlineMs: number;
  };
  readonly haproxy: HaproxyTimings & { readonly maxconn: number; readonly fdLimit: number };
}

interface HaproxyTimings {
  /** Health check of each gateway's /readyz: every interMs; fall failures mark it down, rise successes up. */
  readonly checkInterMs: number;
  readonly checkTimeoutMs: number;
  readonly fall: number;
  readonly rise: number;
  readonly connectTimeoutMs: number;
  /** HTTP phase, both sides. */
  readonly clientTimeoutMs: number;
  readonly serverTimeoutMs: number;
  /** An upgraded WebSocket: idle limit in both directions. */
  readonly tunnelTimeoutMs: number;
}

/** File descriptors HAProxy keeps besides proxied sockets: listeners, checks, the stats socket, logs. */
const FD_RESERVE = 200;

/** The open-file limit this process (and so HAProxy, its child) has. */
function openFileLimit(): number {
  const r = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" });
  const n = Number(r.stdout.trim());
  return Number.isSafeInteger(n) && n > 0 ? n : 1024;
}

/**
 * HAProxy holds two descriptors per proxied connection (client side and server side), so with
 * a limit of 20,000 open files it can hold (20,000 − 200) / 2 = 9,900 connections. Above that
 * accept() would fail with EMFILE instead of HAProxy queueing politely.
 */
export function haproxyMaxconn(fdLimit: number): number {
  return Math.max(1, Math.floor((fdLimit - FD_RESERVE) / 2));
}

export function topology(size: ClusterSize = "full", fdLimit = openFileLimit()): Topology {
  const idleTimeoutS = 112; // the gateway's default: pings every 56 s
  // A draining gateway keeps accepting this long after /readyz turned false: HAProxy must have
  // marked it down by then, so no new socket lands on a pod about to close.
  const preStopDelayMs = size === "full" ? 5_000 : 3_000;
  const checks =
    size === "full" ? { checkInterMs: 1_000, checkTimeoutMs: 500, fall: 2, rise: 2 } : { checkInterMs: 400, checkTimeoutMs: 300, fall: 2, rise: 1 };
  // Longer than the ping interval (idleTimeoutS / 2) and than the gateway's own idle limit, so
  // HAProxy never cuts a live socket: the gateway decides when a silent one is dead.
  const wsTimeoutMs = (idleTimeoutS + 10) * 1000;
  const t: Topology = {
    size,
    natsNodes: 3,
    natsReplicas: 3,
    // Tests keep two of posts, the write path, to kill one of them.
    services: size === "full" ? { accounts: 2, posts: 2, presence: 2 } : { accounts: 1, posts: 2, presence: 1 },
    // full: (2 accounts + 2 posts) × 15 = 60; test: (1 + 2) × 10 = 30, beside other tests' databases.
    dbPoolSize: size === "full" ? 15 : 10,
    gateways: size === "full" ? 3 : 2,
    gatewaySlots: 8,
    ingress: { host: "127.0.0.1", port: size === "full" ? 8065 : 0 },
    gateway: { idleTimeoutS, preStopDelayMs, shutdownDeadlineMs: 25_000 },
    haproxy: {
      ...checks,
      connectTimeoutMs: 2_000,
      clientTimeoutMs: wsTimeoutMs,
      serverTimeoutMs: wsTimeoutMs,
      tunnelTimeoutMs: wsTimeoutMs,
      fdLimit,
      maxconn: haproxyMaxconn(fdLimit),
    },
  };
  checkTopology(t);
  return t;
}

/** The promises the numbers make to each other; a topology that breaks one is refused. */
export function checkTopology(t: Topology): void {
  const h = t.haproxy;
  const detectMs = h.checkInterMs * h.fall + h.checkTimeoutMs;
  if (detectMs >= t.gateway.preStopDelayMs) {
    throw new Error(`HAProxy marks a draining gateway down after up to ${detectMs} ms, not before its pre-stop delay (${t.gateway.preStopDelayMs} ms) ends`);
  }
  if (t.gateway.preStopDelayMs >= t.gateway.shutdownDeadlineMs) {
    throw new Error(`the gateway's pre-stop delay (${t.gateway.preStopDelayMs} ms) must end before its shutdown deadline (${t.gateway.shutdownDeadlineMs} ms)`);
  }
  const pingMs = (t.gateway.idleTimeoutS * 1000) / 2;
  for (const [name, ms] of [
    ["tunnel", h.tunnelTimeoutMs],
    ["client", h.clientTimeoutMs],
    ["server", h.serverTimeoutMs],
  ] as const) {
    if (ms <= pingMs) throw new Error(`HAProxy's timeout ${name} (${ms} ms) must be longer than the gateway's ping interval (${pingMs} ms)`);
  }
  if (t.gateways > t.gatewaySlots) throw new Error(`${t.gateways} gateways do not fit HAProxy's ${t.gatewaySlots} server slots`);
  if (t.natsReplicas > t.natsNodes) throw new Error(`R${t.natsReplicas} needs at least ${t.natsReplicas} NATS nodes`);
}
