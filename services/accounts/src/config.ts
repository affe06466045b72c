import { streams } from "@switchboard/bus";
import { bool, ConfigError, duration, int, loadConfig, redactedConfig, str, type ConfigOf, type Field } from "@switchboard/config";
import { parseKeks } from "@switchboard/tokens";
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
  keyPublishAheadMs: duration({
    env: "SB_ACCOUNTS_KEY_PUBLISH_AHEAD_MS",
    description: "how long before a signing key takes over it is published, so verifiers know it first (at most half the rotation)",
    default: 60 * 60 * 1000,
  }),
  kek: kekField(),
  kekFile: str({
    env: "SB_ACCOUNTS_KEK_FILE",
    description: "file (a mounted Secret) holding the KEK list, in the form of SB_ACCOUNTS_KEK; one of the two is required",
    default: "",
  }),
  openSignup: bool({
    env: "SB_ACCOUNTS_OPEN_SIGNUP",
    description: "anyone may create an account (otherwise only system admins, after the first user)",
    default: true,
  }),
  loginMaxFailuresPerLogin: int({
    env: "SB_ACCOUNTS_LOGIN_MAX_FAILURES_PER_LOGIN",
    description:
      "failed logins per login_id (username or email) in one window before further attempts get 429 (Mattermost: MaximumLoginAttempts 10); 0 = no limit",
    default: 10,
    min: 0,
  }),
  loginMaxFailuresPerIp: int({
    env: "SB_ACCOUNTS_LOGIN_MAX_FAILURES_PER_IP",
    description: "failed logins from one client address in one window before further attempts get 429; 0 = no limit",
    default: 50,
    min: 0,
  }),
  loginWindowMs: duration({
    env: "SB_ACCOUNTS_LOGIN_WINDOW_MS",
    description: "the window the failed-login limits count in (fixed windows, shared by every replica through PostgreSQL)",
    default: 5 * 60_000,
    min: 1_000,
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

/** The KEK list in the environment: validated here, kept as text (parsed again where it is used). */
function kekField(): Field<string> {
  return {
    env: "SB_ACCOUNTS_KEK",
    description:
      "key-encryption keys that wrap the token signing keys at rest: <id>:<base64 of 32 bytes>, comma-separated, the first wraps, the others only unwrap (rotation)",
    default: "",
    secret: true,
    parse: (raw) => {
      try {
        parseKeks(raw);
        return { ok: true, value: raw };
      } catch (e: unknown) {
        return { ok: false, error: (e as Error).message };
      }
    },
  };
}

export type AccountsConfig = ConfigOf<typeof accountsSchema>;

export function loadAccountsConfig(env: Readonly<Record<string, string | undefined>>) {
  const loaded = loadConfig(accountsSchema, env, { prefix: "SB_ACCOUNTS_" });
  const { kek, kekFile } = loaded.config;
  if (kek === "" && kekFile === "") {
    throw new ConfigError(["SB_ACCOUNTS_KEK or SB_ACCOUNTS_KEK_FILE is required: the key-encryption key that protects the token signing keys at rest"]);
  }
  if (kek !== "" && kekFile !== "") throw new ConfigError(["set only one of SB_ACCOUNTS_KEK and SB_ACCOUNTS_KEK_FILE"]);
  return loaded;
}

export function describeAccountsConfig(c: AccountsConfig) {
  return redactedConfig(accountsSchema, c);
}
