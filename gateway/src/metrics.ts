import type { MetricsRegistry } from "@switchboard/metrics";

/** The edge limits (docs/protocol.md, "Limits"). */
export type EdgeLimit = "ws_connections_per_user" | "ws_connections_per_ip" | "ws_upgrades_in_progress" | "ws_upgrade_rate" | "ws_command_rate";

/** Every metric the gateway emits; call sites use these helpers, never raw metric objects. */
export function createGatewayMetrics(r: MetricsRegistry) {
  const sockets = r.gauge({ name: "sb_gateway_sockets", help: "Open WebSocket connections" });
  let detachedProvider: () => number = () => 0;
  r.gauge({ name: "sb_gateway_detached_connections", help: "Connections without a socket, kept for resume", collect: () => detachedProvider() });
  const opened = r.counter({ name: "sb_gateway_sockets_opened_total", help: "WebSocket connections opened" });
  const closed = r.counter({ name: "sb_gateway_socket_closes_total", help: "WebSocket closes by code", labelNames: ["code"] });
  const deliveries = r.counter({ name: "sb_gateway_deliveries_total", help: "Events queued to connections" });
  const events = r.counter({ name: "sb_gateway_events_received_total", help: "Events received from NATS", labelNames: ["scope"] });
  const refused = r.counter({
    name: "sb_gateway_refused_events_total",
    help: "Events dropped because their subject family does not carry that kind or scope (only posts's family carries every kind)",
    labelNames: ["family"],
  });
  const duplicates = r.counter({ name: "sb_gateway_duplicate_events_total", help: "Events received again (re-publish) and dropped" });
  const shed = r.counter({ name: "sb_gateway_shed_events_total", help: "Ephemeral events skipped for congested connections", labelNames: ["event"] });
  let stalledProvider: () => number = () => 0;
  r.gauge({ name: "sb_gateway_stalled_sockets", help: "Sockets at their byte budget with events waiting", collect: () => stalledProvider() });
  const slow = r.counter({ name: "sb_gateway_slow_closes_total", help: "Sockets closed because they could not keep up" });
  const overflow = r.counter({ name: "sb_gateway_queue_overflows_total", help: "Connections forgotten because their queue overflowed" });
  const resumes = r.counter({ name: "sb_gateway_resumes_total", help: "Reconnects with a connection_id, by outcome", labelNames: ["outcome"] });
  const claims = r.counter({
    name: "sb_gateway_resume_claims_total",
    help: "Reconnects naming a connection held elsewhere, by result: claimed (handed over), missed (no holder), refused (another user's), gap",
    labelNames: ["result"],
  });
  const handovers = r.counter({
    name: "sb_gateway_resume_handovers_total",
    help: "Claims answered for connections held here, by result",
    labelNames: ["result"],
  });
  const rebalanced = r.counter({
    name: "sb_gateway_rebalance_closes_total",
    help: "Sockets closed with 4000 so their clients move to less loaded gateways (rebalancing after a scale-out)",
  });
  const subscriptions = r.gauge({ name: "sb_gateway_nats_subscriptions", help: "NATS subscriptions held" });
  const backfills = r.counter({
    name: "sb_gateway_backfilled_events_total",
    help: "Events recovered after a new channel subscription, a hole in a channel's sequence or a NATS outage, by source",
    labelNames: ["source"],
  });
  const gaps = r.counter({ name: "sb_gateway_channel_gaps_total", help: "Holes seen in a channel's sequence (each starts a repair)" });
  const unrepaired = r.counter({
    name: "sb_gateway_channel_gaps_unrepaired_total",
    help: "Holes no source filled in time: the channel's connections were resynced",
  });
  const pastRetention = r.counter({
    name: "sb_gateway_outage_resyncs_total",
    help: "Connections resynced because a NATS outage reached past the event stream's retention",
  });
  const canaryMisses = r.counter({ name: "sb_gateway_canary_misses_total", help: "Canary probes not heard back within their interval" });
  const requests = r.counter({ name: "sb_gateway_ws_requests_total", help: "WebSocket requests by action and status", labelNames: ["action", "status"] });
  const limitHits = r.counter({
    name: "sb_gateway_limit_hits_total",
    help: "Requests and sockets refused or closed by an edge limit, by limit",
    labelNames: ["limit"],
  });
  const authFailures = r.counter({
    name: "sb_gateway_auth_failures_total",
    help: "WebSocket authentications that failed, by where (upgrade, challenge, timeout)",
    labelNames: ["stage"],
  });
  const http = r.histogram({ name: "sb_gateway_http_request_seconds", help: "REST request time", labelNames: ["route", "status"] });
  return {
    limitHit: (limit: EdgeLimit) => limitHits.inc({ limit }),
    authFailed: (stage: "upgrade" | "challenge" | "timeout") => authFailures.inc({ stage }),
    socketOpened: () => {
      sockets.inc();
      opened.inc();
    },
    socketClosed: (code: number) => {
      sockets.dec();
      closed.inc({ code: String(code) });
    },
    /** Counted when scraped (connections are not counted on every open and close). */
    countDetachedWith: (f: () => number) => (detachedProvider = f),
    countStalledWith: (f: () => number) => (stalledProvider = f),
    delivered: (n: number) => deliveries.inc(undefined, n),
    eventReceived: (scope: string) => events.inc({ scope }),
    duplicateDropped: () => duplicates.inc(),
    eventRefused: (family: string) => refused.inc({ family }),
    shedEvent: (event: string) => shed.inc({ event }),
    slowClose: () => slow.inc(),
    queueOverflow: () => overflow.inc(),
    resume: (outcome: "success" | "lossless" | "failure" | "not_found") => resumes.inc({ outcome }),
    resumeClaim: (result: "claimed" | "missed" | "refused" | "gap") => claims.inc({ result }),
    resumeHandover: (result: "handed_over" | "refused" | "gap") => handovers.inc({ result }),
    rebalanceClosed: (n: number) => rebalanced.inc(undefined, n),
    setSubscriptions: (n: number) => subscriptions.set(n),
    backfilled: (source: "stream" | "database", n: number) => backfills.inc({ source }, n),
    channelGap: () => gaps.inc(),
    channelGapUnrepaired: () => unrepaired.inc(),
    outagePastRetention: (connections: number) => pastRetention.inc(undefined, connections),
    canaryMiss: () => canaryMisses.inc(),
    wsRequest: (action: string, status: string) => requests.inc({ action, status }),
    httpRequest: (route: string, status: number, seconds: number) => http.observe(seconds, { route, status: String(status) }),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
