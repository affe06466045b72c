import { bool, ConfigError, duration, int, list, loadConfig, redactedConfig, str, type ConfigOf } from "@switchboard/config";
import { commonSettings } from "@switchboard/runtime";

export const gatewaySchema = {
  ...commonSettings("GATEWAY", { opsPort: 9200 }),
  listenHost: str({ env: "SB_GATEWAY_LISTEN_HOST", description: "HTTP/WebSocket listen address", default: "127.0.0.1" }),
  listenPort: int({
    env: "SB_GATEWAY_LISTEN_PORT",
    description: "HTTP/WebSocket port (Mattermost's default 8065; 0 = any)",
    default: 8065,
    min: 0,
    max: 65535,
  }),
  siteUrl: str({
    env: "SB_GATEWAY_SITE_URL",
    description: "Mattermost SiteURL: WebSocket Origin must match its scheme and host (empty: Origin host must equal Host)",
    default: "",
  }),
  allowCorsFrom: list({ env: "SB_GATEWAY_ALLOW_CORS_FROM", description: "extra allowed Origins (Mattermost AllowCorsFrom)", default: [] }),
  accountsAddr: str({ env: "SB_GATEWAY_ACCOUNTS_ADDR", description: "accounts service host:port", default: "127.0.0.1:9102" }),
  postsAddr: str({ env: "SB_GATEWAY_POSTS_ADDR", description: "posts service host:port", default: "127.0.0.1:9101" }),
  presenceAddr: str({ env: "SB_GATEWAY_PRESENCE_ADDR", description: "presence service host:port", default: "127.0.0.1:9103" }),
  rpcDeadlineMs: duration({ env: "SB_GATEWAY_RPC_DEADLINE_MS", description: "deadline of calls to the services", default: 10_000, min: 100 }),
  authTimeoutMs: duration({
    env: "SB_GATEWAY_AUTH_TIMEOUT_MS",
    description: "how long an unauthenticated socket may wait for authentication_challenge (Mattermost: 5 s)",
    default: 5_000,
    min: 100,
  }),
  maxInboundBytes: int({
    env: "SB_GATEWAY_MAX_INBOUND_BYTES",
    description: "largest client frame accepted; larger ones close with 1009 (Mattermost: 8192)",
    default: 8192,
    min: 256,
  }),
  idleTimeoutS: int({
    env: "SB_GATEWAY_IDLE_TIMEOUT_S",
    description: "close a socket silent this long; pings go out at half of it (Mattermost: ping 60 s, pong wait 100 s)",
    default: 112,
    min: 8,
    max: 960,
  }),
  maxBufferedBytes: int({
    env: "SB_GATEWAY_MAX_BUFFERED_BYTES",
    description: "unsent bytes per socket before it is closed as slow (code 4002)",
    default: 1024 * 1024,
    min: 16 * 1024,
  }),
  queueLimit: int({
    env: "SB_GATEWAY_QUEUE_LIMIT",
    description: "events waiting per connection before it is closed and forgotten (Mattermost: 256)",
    default: 256,
    min: 16,
  }),
  replayEvents: int({ env: "SB_GATEWAY_REPLAY_EVENTS", description: "sent events kept per connection for resume (Mattermost: 128)", default: 128, min: 128 }),
  resumeWindowMs: duration({
    env: "SB_GATEWAY_RESUME_WINDOW_MS",
    description: "how long a dropped connection keeps queueing for a resume (Mattermost: 5 min)",
    default: 300_000,
    min: 1_000,
  }),
  resumeClaimTimeoutMs: duration({
    env: "SB_GATEWAY_RESUME_CLAIM_TIMEOUT_MS",
    description: "how long a reconnect waits for the gateway holding its connection to answer; no answer = a new connection_id",
    default: 1_000,
    min: 50,
    max: 10_000,
  }),
  preStopDelayMs: duration({
    env: "SB_GATEWAY_PRESTOP_DELAY_MS",
    description: "on SIGTERM: not ready at once, but still accepting this long (at least the balancer's check interval x fall count)",
    default: 0,
    max: 120_000,
  }),
  drainSpreadMs: duration({
    env: "SB_GATEWAY_DRAIN_SPREAD_MS",
    description: "on SIGTERM, after the listener closed: open sockets are closed with 4000 in batches over this long",
    default: 2_000,
    max: 120_000,
  }),
  resumeHandoverMs: duration({
    env: "SB_GATEWAY_RESUME_HANDOVER_MS",
    description: "after the last batch: how long drained connections wait to be claimed by another gateway before NATS is drained",
    default: 6_000,
    max: 120_000,
  }),
  maxRequestBytes: int({ env: "SB_GATEWAY_MAX_REQUEST_BYTES", description: "largest REST request body", default: 1024 * 1024, min: 1024 }),
  serverVersion: str({ env: "SB_GATEWAY_SERVER_VERSION", description: "Mattermost version reported to clients", default: "11.9.0" }),
  strictCsrf: bool({
    env: "SB_GATEWAY_STRICT_CSRF",
    description: "cookie-authenticated writes need X-CSRF-Token (otherwise X-Requested-With: XMLHttpRequest suffices, as Mattermost's default)",
    default: false,
  }),
  secureCookies: bool({ env: "SB_GATEWAY_SECURE_COOKIES", description: "mark session cookies Secure (behind TLS)", default: false }),
  presenceReportMs: duration({
    env: "SB_GATEWAY_PRESENCE_REPORT_MS",
    description: "batch interval of connection reports to presence",
    default: 1_000,
    min: 50,
  }),
};

export type GatewayConfig = ConfigOf<typeof gatewaySchema>;

/** What the drain leaves the NATS drain and the exit before the shutdown deadline. */
export const NATS_DRAIN_BUDGET_MS = 2_000;

export function loadGatewayConfig(env: Readonly<Record<string, string | undefined>>) {
  const loaded = loadConfig(gatewaySchema, env, { prefix: "SB_GATEWAY_" });
  const c = loaded.config;
  // The drain's steps run one after the other: together they must end before the deadline.
  const drain = c.preStopDelayMs + c.drainSpreadMs + c.resumeHandoverMs + NATS_DRAIN_BUDGET_MS;
  if (drain >= c.shutdownDeadlineMs) {
    throw new ConfigError([
      `SB_GATEWAY_PRESTOP_DELAY_MS + SB_GATEWAY_DRAIN_SPREAD_MS + SB_GATEWAY_RESUME_HANDOVER_MS + ${NATS_DRAIN_BUDGET_MS} ms for NATS (${drain} ms) must be below SB_GATEWAY_SHUTDOWN_DEADLINE_MS (${c.shutdownDeadlineMs} ms)`,
    ]);
  }
  return loaded;
}

export function describeGatewayConfig(c: GatewayConfig) {
  return redactedConfig(gatewaySchema, c);
}
