import { streams } from "@switchboard/bus";
import { bool, duration, int, loadConfig, redactedConfig, type ConfigOf } from "@switchboard/config";
import { commonSettings, databaseSettings, grpcSettings } from "@switchboard/runtime";

const DAY = 24 * 60 * 60 * 1000;

export const accountsSchema = {
  ...commonSettings("ACCOUNTS", { opsPort: 9202 }),
  ...grpcSettings("ACCOUNTS", { port: 9102, healthPort: 9302 }),
  ...databaseSettings("ACCOUNTS", { pgliteDir: ".data/accounts" }),
  sessionLengthMs: duration({
    env: "SB_ACCOUNTS_SESSION_LENGTH_MS",
    description: "lifetime of a login session and its token (Mattermost: 30 days for web)",
    default: 30 * DAY,
    min: 60_000,
  }),
  keyRotationMs: duration({
    env: "SB_ACCOUNTS_KEY_ROTATION_MS",
    description: "how long one signing key signs new tokens before the next one takes over",
    default: 7 * DAY,
    min: 60_000,
  }),
  openSignup: bool({
    env: "SB_ACCOUNTS_OPEN_SIGNUP",
    description: "anyone may create an account (otherwise only system admins, after the first user)",
    default: true,
  }),
  controlRetentionMs: duration({
    env: "SB_ACCOUNTS_CONTROL_RETENTION_MS",
    description: `how long revocations stay in the ${streams.control.name} stream for verifiers to catch up`,
    default: DAY,
    min: 60_000,
  }),
  controlReplicas: int({
    env: "SB_ACCOUNTS_CONTROL_REPLICAS",
    description: `${streams.control.name} stream replicas (3 on a NATS cluster)`,
    default: 1,
    min: 1,
    max: 5,
  }),
};

export type AccountsConfig = ConfigOf<typeof accountsSchema>;

export function loadAccountsConfig(env: Readonly<Record<string, string | undefined>>) {
  return loadConfig(accountsSchema, env, { prefix: "SB_ACCOUNTS_" });
}

export function describeAccountsConfig(c: AccountsConfig) {
  return redactedConfig(accountsSchema, c);
}
