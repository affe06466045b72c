import { kvBuckets } from "@switchboard/bus";
import { bool, ConfigError, duration, int, loadConfig, oneOf, redactedConfig, str, type ConfigOf } from "@switchboard/config";
import { commonSettings, grpcSettings } from "@switchboard/runtime";

const MINUTE = 60_000;

export const presenceSchema = {
  ...commonSettings("PRESENCE", { opsPort: 9203 }),
  ...grpcSettings("PRESENCE", { port: 9103, healthPort: 9303 }),
  accountsAddr: str({
    env: "SB_PRESENCE_ACCOUNTS_ADDR",
    description: "accounts service host:port (signing keys and revocations for session tokens)",
    default: "127.0.0.1:9102",
    minLength: 3,
  }),
  postsAddr: str({
    env: "SB_PRESENCE_POSTS_ADDR",
    description: "posts service host:port (ListDirectPartners, only with SB_PRESENCE_PUSH_TO_PARTNERS)",
    default: "127.0.0.1:9101",
    minLength: 3,
  }),
  pushToPartners: bool({
    env: "SB_PRESENCE_PUSH_TO_PARTNERS",
    description: "also send status_change to users sharing a direct or group channel (beyond Mattermost)",
    default: false,
  }),
  partnersCacheMs: duration({
    env: "SB_PRESENCE_PARTNERS_CACHE_MS",
    description: "how long a user's direct/group partners are cached",
    default: 30_000,
  }),
  leaseTtlMs: duration({
    env: "SB_PRESENCE_LEASE_TTL_MS",
    description: "a gateway lease lapses this long after its last report; its connections are then closed",
    default: 15_000,
    min: 300,
  }),
  offlineGraceMs: duration({
    env: "SB_PRESENCE_OFFLINE_GRACE_MS",
    description: "after a user's last connection closes, wait this long before going offline (a reconnect cancels it)",
    default: 5_000,
  }),
  awayAfterMs: duration({
    env: "SB_PRESENCE_AWAY_AFTER_MS",
    description: "inactivity after which a connected user goes away (Mattermost's UserStatusAwayTimeout)",
    default: 5 * MINUTE,
    min: 100,
  }),
  activityWriteIntervalMs: duration({
    env: "SB_PRESENCE_ACTIVITY_WRITE_INTERVAL_MS",
    description: "activity that only moves last_activity_at is stored at most this often per user",
    default: 10_000,
  }),
  sweepIntervalMs: duration({
    env: "SB_PRESENCE_SWEEP_INTERVAL_MS",
    description: "how often every replica checks deadlines (grace, away, dnd end, lease expiry)",
    default: 1_000,
    min: 10,
    max: 60_000,
  }),
  republishAfterMs: duration({
    env: "SB_PRESENCE_REPUBLISH_AFTER_MS",
    description: "a status_change still unconfirmed after this long (its writer died) is published by a sweep",
    default: 5_000,
    min: 100,
  }),
  watchProbeIntervalMs: duration({
    env: "SB_PRESENCE_WATCH_PROBE_INTERVAL_MS",
    description: "how often the local status cache checks that its KV watch is live",
    default: 5_000,
    min: 100,
  }),
  maxConnectionsPerUser: int({
    env: "SB_PRESENCE_MAX_CONNECTIONS_PER_USER",
    description:
      "WebSocket connections one user may hold across all gateways; more are refused and closed with 4003 (Mattermost has no limit; a browser tab or app is one each)",
    default: 64,
    min: 1,
    max: 1024,
  }),
  maxConnectionsPerIp: int({
    env: "SB_PRESENCE_MAX_CONNECTIONS_PER_IP",
    description:
      "WebSocket connections one client address may hold across all gateways (the address behind a trusted proxy); more are refused and closed with 4003; 0 = no limit",
    default: 2_000,
    min: 0,
  }),
  readBarrier: bool({
    env: "SB_PRESENCE_READ_BARRIER",
    description:
      "status reads first wait until this replica's cache holds every write made before the read (one question to the KV stream's leader, shared by concurrent reads), so a user connected through any replica reads online",
    default: true,
  }),
  kvBucket: str({
    env: "SB_PRESENCE_KV_BUCKET",
    description: "JetStream KV bucket holding statuses and leases",
    default: kvBuckets.presence.name,
    pattern: /^[A-Za-z0-9_-]{1,64}$/,
  }),
  kvReplicas: int({
    env: "SB_PRESENCE_KV_REPLICAS",
    description: "replicas of the KV bucket (3 on a NATS cluster)",
    default: 1,
    min: 1,
    max: 5,
  }),
  kvStorage: oneOf({ env: "SB_PRESENCE_KV_STORAGE", description: "KV bucket storage", values: ["file", "memory"] as const, default: "file" }),
};

export type PresenceConfig = ConfigOf<typeof presenceSchema>;

/** Checks between settings, after each one parsed. */
function crossCheck(c: PresenceConfig): string[] {
  const problems: string[] = [];
  if (c.activityWriteIntervalMs >= c.awayAfterMs) {
    problems.push("SB_PRESENCE_ACTIVITY_WRITE_INTERVAL_MS must be below SB_PRESENCE_AWAY_AFTER_MS");
  }
  if (c.sweepIntervalMs >= c.leaseTtlMs) problems.push("SB_PRESENCE_SWEEP_INTERVAL_MS must be below SB_PRESENCE_LEASE_TTL_MS");
  return problems;
}

export function loadPresenceConfig(env: Readonly<Record<string, string | undefined>>) {
  const loaded = loadConfig(presenceSchema, env, { prefix: "SB_PRESENCE_" });
  const problems = crossCheck(loaded.config);
  if (problems.length > 0) throw new ConfigError(problems);
  return loaded;
}

export function describePresenceConfig(c: PresenceConfig) {
  return redactedConfig(presenceSchema, c);
}
