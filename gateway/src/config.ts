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
  maxUpgradesInProgress: int({
    env: "SB_GATEWAY_MAX_UPGRADES_IN_PROGRESS",
    description:
      "WebSocket upgrades this gateway works on at once (request to bound connection); more get 503 with Retry-After: 1; 0 = no limit (Mattermost: none)",
    default: 1_000,
    min: 0,
  }),
  upgradesPerSec: int({
    env: "SB_GATEWAY_UPGRADES_PER_SEC",
    description: "WebSocket upgrades this gateway starts per second, sustained (above the burst: 503 with Retry-After: 1); 0 = no limit",
    default: 1_000,
    min: 0,
  }),
  upgradeBurst: int({
    env: "SB_GATEWAY_UPGRADE_BURST",
    description: "WebSocket upgrades that may start at once above SB_GATEWAY_UPGRADES_PER_SEC",
    default: 5_000,
    min: 1,
  }),
  wsCommandsPerSec: int({
    env: "SB_GATEWAY_WS_COMMANDS_PER_SEC",
    description:
      "requests one WebSocket may send per second, sustained; above the burst each gets a FAIL reply (429), and more refused in a row than the burst close the socket with 4004; 0 = no limit (Mattermost: none)",
    default: 50,
    min: 0,
  }),
  wsCommandBurst: int({
    env: "SB_GATEWAY_WS_COMMAND_BURST",
    description: "requests one WebSocket may send at once above SB_GATEWAY_WS_COMMANDS_PER_SEC",
    default: 100,
    min: 1,
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
    // A claimant under a reconnect storm (thousands of claims a second, each loading routing)
    // stalls its event loop for up to ~1.4 s on this machine (resume-storm): 1 s missed claims.
    default: 2_000,
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
    // The last batch's clients come back after the stock client's 3 s + up to 2 s of jitter,
    // and a claimant in a storm needs up to ~2 s more before its claim is sent (resume-storm):
    // 6 s lost hundreds of 5,000 drained clients to a new connection_id; 10 s none.
    default: 10_000,
    max: 120_000,
  }),
  rebalanceEnabled: bool({
    env: "SB_GATEWAY_REBALANCE_ENABLED",
    description:
      "after a scale-out, a gateway holding far more sockets than the fleet mean closes some with 4000 so their clients move (and resume) elsewhere; false: it only reports its load",
    default: true,
  }),
  rebalanceReportMs: duration({
    env: "SB_GATEWAY_REBALANCE_REPORT_MS",
    description: "interval of each gateway's load report on NATS; a gateway unheard for 3 intervals is out of the fleet",
    default: 2_000,
    min: 50,
    max: 60_000,
  }),
  rebalanceThresholdPercent: int({
    env: "SB_GATEWAY_REBALANCE_THRESHOLD_PERCENT",
    description: "a gateway above this percentage of the fleet's mean sockets is overloaded",
    default: 120,
    min: 105,
    max: 1_000,
  }),
  rebalanceFractionPercent: int({
    env: "SB_GATEWAY_REBALANCE_FRACTION_PERCENT",
    description: "share of its excess over the mean an overloaded gateway sheds in one round (jittered by a quarter either way; never below the mean)",
    default: 60,
    min: 1,
    max: 100,
  }),
  rebalanceSustainMs: duration({
    env: "SB_GATEWAY_REBALANCE_SUSTAIN_MS",
    description:
      "how long a gateway must stay overloaded before it sheds clients (a gateway just added must have been counted, a passing burst must not move anyone)",
    // A scale-out is judged within 2 minutes: two rounds fit with time to spare.
    default: 20_000,
    min: 0,
  }),
  rebalanceCooldownMs: duration({
    env: "SB_GATEWAY_REBALANCE_COOLDOWN_MS",
    description: "time from a round's last batch to the next round (the moved clients reconnect after 3-5 s and must be counted first)",
    default: 20_000,
    min: 0,
  }),
  rebalanceSpreadMs: duration({
    env: "SB_GATEWAY_REBALANCE_SPREAD_MS",
    description: "a round's closes go in batches over this long",
    default: 5_000,
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
  repairTimeoutMs: duration({
    env: "SB_GATEWAY_REPAIR_TIMEOUT_MS",
    description: "how long the repair of a hole in a channel's sequence may hold the channel's events; past it, the channel's connections resync (close 4505)",
    default: 5_000,
    min: 100,
  }),
  verifyHeadsAfterMs: duration({
    env: "SB_GATEWAY_VERIFY_HEADS_AFTER_MS",
    description:
      "after subscribing a channel for a new member, check the channel's last committed change again this much later (a subscription reaches the other NATS servers of a cluster after its own): a change missed meanwhile is delivered then",
    default: 2_000,
    min: 100,
  }),
  recoveryMarginMs: duration({
    env: "SB_GATEWAY_RECOVERY_MARGIN_MS",
    description: "after a NATS outage, read the event stream back from this long before it began (clock skew, messages in flight)",
    default: 5_000,
    min: 0,
  }),
  recoveryTimeoutMs: duration({
    env: "SB_GATEWAY_RECOVERY_TIMEOUT_MS",
    description:
      "how long the read-back after a NATS outage may take, its retries included (the stream may need 10-15 s to elect a leader after every node restarted); past it, the connections that lived through the outage resync (close 4505)",
    default: 30_000,
    min: 100,
  }),
  canaryIntervalMs: duration({
    env: "SB_GATEWAY_CANARY_INTERVAL_MS",
    description: "interval of the NATS canary round trip (a probe on the gateway's own subject, expected back before the next)",
    default: 1_000,
    min: 50,
  }),
  canaryMissLimit: int({
    env: "SB_GATEWAY_CANARY_MISS_LIMIT",
    description: "canary probes unheard in a row before the gateway reports not ready and reads the silence back from the stream",
    default: 2,
    min: 1,
  }),
  trustedProxyIpHeader: list({
    env: "SB_GATEWAY_TRUSTED_PROXY_IP_HEADER",
    description:
      "headers naming the client's IP, tried in order (Mattermost TrustedProxyIPHeader, e.g. X-Forwarded-For); believed only from SB_GATEWAY_TRUSTED_PROXIES",
    default: [],
    item: /^[A-Za-z0-9-]+$/,
  }),
  trustedProxies: list({
    env: "SB_GATEWAY_TRUSTED_PROXIES",
    description:
      "addresses or CIDR ranges of the proxies (the ingress) whose client-IP header is believed; from any other peer the socket's address is the client's",
    default: [],
    item: /^[0-9A-Fa-f.:]+(\/\d{1,3})?$/,
  }),
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
