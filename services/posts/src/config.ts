import { streams } from "@switchboard/bus";
import { duration, int, loadConfig, oneOf, redactedConfig, str, type ConfigOf } from "@switchboard/config";
import { commonSettings, databaseSettings, grpcSettings } from "@switchboard/runtime";

const MINUTE = 60_000;

/** host:port, or a gRPC target naming the DNS resolver (a headless Service's every pod). */
const GRPC_ADDRESS = /^(dns:\/\/\/)?[A-Za-z0-9._-]+:\d{1,5}$/;

export const postsSchema = {
  ...commonSettings("POSTS", { opsPort: 9201 }),
  ...grpcSettings("POSTS", { port: 9101, healthPort: 9301 }),
  ...databaseSettings("POSTS", { pgliteDir: ".data/posts" }),
  accountsAddr: str({
    env: "SB_POSTS_ACCOUNTS_ADDR",
    description: "accounts gRPC address (host:port, or dns:///host:port to spread calls over every address): signing keys, revocations, usernames",
    default: "127.0.0.1:9102",
    pattern: GRPC_ADDRESS,
  }),
  accountsDeadlineMs: duration({
    env: "SB_POSTS_ACCOUNTS_DEADLINE_MS",
    description: "deadline of each call to accounts",
    default: 5_000,
    min: 50,
  }),
  presenceAddr: str({
    env: "SB_POSTS_PRESENCE_ADDR",
    description: "presence gRPC address (host:port, or dns:///host:port to spread calls over every address): who is online, for @here",
    default: "127.0.0.1:9103",
    pattern: GRPC_ADDRESS,
  }),
  presenceDeadlineMs: duration({
    env: "SB_POSTS_PRESENCE_DEADLINE_MS",
    description: "deadline of each call to presence (past it, @here mentions nobody)",
    default: 2_000,
    min: 50,
  }),
  maxNotificationsPerChannel: int({
    env: "SB_POSTS_MAX_NOTIFICATIONS_PER_CHANNEL",
    description: "channels with at least this many members ignore @channel, @all and @here (Mattermost's TeamSettings.MaxNotificationsPerChannel)",
    default: 1_000,
    min: 1,
  }),
  userCacheTtlMs: duration({
    env: "SB_POSTS_USER_CACHE_TTL_MS",
    description: "how long a username learned from accounts is reused (sender_name, @mentions)",
    default: MINUTE,
    max: 60 * MINUTE,
  }),
  userCacheSize: int({
    env: "SB_POSTS_USER_CACHE_SIZE",
    description: "usernames kept in memory",
    default: 50_000,
    min: 0,
  }),
  eventRetentionMs: duration({
    env: "SB_POSTS_EVENT_RETENTION_MS",
    description: `how long events stay in the ${streams.events.name} stream (the replay window for resumes and NATS reconnects)`,
    default: 15 * MINUTE,
    min: MINUTE,
  }),
  eventLogRetentionMs: duration({
    env: "SB_POSTS_EVENT_LOG_RETENTION_MS",
    description: `how long published events stay in the database's event log, the copy edges repair from when the ${streams.events.name} stream lost one (longer than the stream's retention)`,
    default: 60 * MINUTE,
    min: MINUTE,
  }),
  eventStorage: oneOf({
    env: "SB_POSTS_EVENT_STORAGE",
    description: `${streams.events.name} stream storage`,
    values: ["file", "memory"] as const,
    default: "file",
  }),
  eventReplicas: int({
    env: "SB_POSTS_EVENT_REPLICAS",
    description: `${streams.events.name} stream replicas (3 on a NATS cluster)`,
    default: 1,
    min: 1,
    max: 5,
  }),
  relayPollMs: duration({
    env: "SB_POSTS_RELAY_POLL_MS",
    description: "outbox relay poll interval when idle (commits also wake it at once)",
    default: 500,
    min: 10,
  }),
};

export type PostsConfig = ConfigOf<typeof postsSchema>;

export function loadPostsConfig(env: Readonly<Record<string, string | undefined>>) {
  return loadConfig(postsSchema, env, { prefix: "SB_POSTS_" });
}

export function describePostsConfig(c: PostsConfig) {
  return redactedConfig(postsSchema, c);
}
