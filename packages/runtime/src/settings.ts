import { hostname } from "node:os";
import { bool, duration, int, list, oneOf, str, url, type Field } from "@switchboard/config";
import { DEFAULT_H2_LIMITS, DEFAULT_RPC_SERVER_TRANSPORT, H2_LIMIT_SETTINGS, RPC_AUTH_MODES, RPC_SERVER_TRANSPORTS, type H2Limits } from "@switchboard/rpc";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Settings every deployable has. `c` is the component in env names: SB_<C>_... */
export function commonSettings(c: string, defaults: { opsPort: number }) {
  return {
    logLevel: oneOf({ env: `SB_${c}_LOG_LEVEL`, description: "log level", values: LOG_LEVELS, default: "info" }),
    opsHost: str({ env: `SB_${c}_OPS_HOST`, description: "address of the internal /metrics, /healthz, /readyz port", default: "127.0.0.1" }),
    opsPort: int({ env: `SB_${c}_OPS_PORT`, description: "internal ops port (0 = any free port)", default: defaults.opsPort, min: 0, max: 65535 }),
    natsUrl: str({ env: "SB_NATS_URL", description: "NATS server URL(s), comma-separated", default: "nats://127.0.0.1:4222" }),
    natsUser: str({
      env: "SB_NATS_USER",
      description: "this component's NATS user (empty: connect without credentials, which an authorizing server refuses)",
      default: "",
    }),
    natsPassword: str({ env: "SB_NATS_PASSWORD", description: "the NATS user's password (or SB_NATS_PASSWORD_FILE)", default: "", secret: true }),
    natsPasswordFile: str({
      env: "SB_NATS_PASSWORD_FILE",
      description: "file holding the NATS user's password, read again at every reconnect (a rotation needs no restart); wins over SB_NATS_PASSWORD",
      default: "",
    }),
    natsTlsCa: str({ env: "SB_NATS_TLS_CA", description: "CA certificate file to verify the NATS server with (empty: no TLS)", default: "" }),
    natsTlsCert: str({ env: "SB_NATS_TLS_CERT", description: "client certificate file for NATS, when the server verifies clients", default: "" }),
    natsTlsKey: str({ env: "SB_NATS_TLS_KEY", description: "the client certificate's key file", default: "" }),
    shutdownDeadlineMs: duration({
      env: `SB_${c}_SHUTDOWN_DEADLINE_MS`,
      description: "hard deadline for a graceful stop (below terminationGracePeriodSeconds)",
      default: 25_000,
    }),
    podName: str({ env: "SB_POD_NAME", description: "this process's name in logs, metrics and NATS (pod name)", default: hostname() }),
    failpoints: list({ env: "SB_FAILPOINTS", description: "test-only crash points (never set in production)", default: [] }),
    ...rpcTlsSettings(),
  };
}

/** Where Kubernetes mounts a component's TLS secret (the keys of a kubernetes.io/tls secret with its CA). */
const TLS_DIR = "/etc/switchboard/tls";
/** Where Kubernetes mounts the service-token keys a component holds (SB_RPC_AUTH=token). */
const TOKEN_KEYS_DIR = "/etc/switchboard/rpc-tokens";

/**
 * gRPC service identity, the same names in every component: one process is one component.
 * Every gRPC port is TLS, served with the component's certificate. With mTLS (the default) a
 * caller presents its certificate too; in token mode it sends a signed service token instead,
 * with a key of its own, which the services it calls hold as well.
 */
function rpcTlsSettings() {
  return {
    rpcAuth: oneOf({
      env: "SB_RPC_AUTH",
      description:
        "how gRPC callers prove which component they are, the same in every component: mtls (a client certificate, SB_RPC_TLS_*) or token (a signed service token over TLS that authenticates the server alone, keys in SB_RPC_TOKEN_KEYS_DIR)",
      values: RPC_AUTH_MODES,
      default: "mtls",
    }),
    rpcTokenKeysDir: str({
      env: "SB_RPC_TOKEN_KEYS_DIR",
      description:
        "SB_RPC_AUTH=token: folder of service-token keys, one file <component>.key each (base64 of 32 random bytes or more): this component signs with its own and verifies the tokens of every other one present (mount only the keys of the components that may call it)",
      default: TOKEN_KEYS_DIR,
      minLength: 1,
    }),
    rpcTlsCaFile: str({
      env: "SB_RPC_TLS_CA_FILE",
      description: "PEM file of the CA that issues every component's gRPC certificate (servers and callers are checked against it)",
      default: `${TLS_DIR}/ca.crt`,
      minLength: 1,
    }),
    rpcTlsCertFile: str({
      env: "SB_RPC_TLS_CERT_FILE",
      description:
        "PEM file of this component's certificate (URI SAN spiffe://switchboard/<component>), served on gRPC, and presented with mTLS (in token mode the gateway, which serves nothing, needs none)",
      default: `${TLS_DIR}/tls.crt`,
      minLength: 1,
    }),
    rpcTlsKeyFile: str({
      env: "SB_RPC_TLS_KEY_FILE",
      description: "PEM file of this component's private key",
      default: `${TLS_DIR}/tls.key`,
      minLength: 1,
    }),
    rpcTlsReloadMs: duration({
      env: "SB_RPC_TLS_RELOAD_MS",
      description: "how often the TLS files are checked; rotated files are taken up without a restart",
      default: 5_000,
      min: 10,
    }),
  };
}

/** Settings of a gRPC service. */
export function grpcSettings(c: string, defaults: { port: number; healthPort: number }) {
  return {
    grpcHost: str({ env: `SB_${c}_GRPC_HOST`, description: "gRPC listen address", default: "127.0.0.1" }),
    grpcPort: int({
      env: `SB_${c}_GRPC_PORT`,
      description: "gRPC listen port, TLS with SB_RPC_AUTH's callers (0 = any free port)",
      default: defaults.port,
      min: 0,
      max: 65535,
    }),
    grpcHealthPort: int({
      env: `SB_${c}_GRPC_HEALTH_PORT`,
      description: "plaintext port serving grpc.health.v1 alone, without credentials (Kubernetes gRPC probes; 0 = any free port)",
      default: defaults.healthPort,
      min: 0,
      max: 65535,
    }),
    grpcMaxMessageBytes: int({
      env: `SB_${c}_GRPC_MAX_MESSAGE_BYTES`,
      description: "largest gRPC message accepted or sent",
      default: 4 * 1024 * 1024,
      min: 1024,
    }),
    grpcDefaultDeadlineMs: duration({
      env: `SB_${c}_GRPC_DEFAULT_DEADLINE_MS`,
      description: "deadline applied to calls that arrive without one",
      default: 10_000,
      min: 1,
    }),
    grpcReflection: bool({
      env: `SB_${c}_GRPC_REFLECTION`,
      description: "serve gRPC server reflection, to authenticated callers (keep off in production)",
      default: false,
    }),
    // One name for every service: the whole deployment serves on one implementation.
    grpcServer: oneOf({
      env: "SB_RPC_SERVER",
      description: "gRPC server implementation: h2 (our own HTTP/2) or grpc-js (@grpc/grpc-js's Server)",
      values: RPC_SERVER_TRANSPORTS,
      default: DEFAULT_RPC_SERVER_TRANSPORT,
    }),
    ...h2LimitSettings(),
  };
}

/** The settings of the own HTTP/2 server's limits, keyed `h2<Limit>`: SB_RPC_H2_*, one name for every service. */
export type H2LimitSettings = { readonly [K in keyof H2Limits as `h2${Capitalize<K>}`]: Field<number> };

function h2LimitSettings(): H2LimitSettings {
  const out: Record<string, Field<number>> = {};
  for (const l of H2_LIMIT_SETTINGS) {
    const field = l.env.endsWith("_MS") ? duration : int;
    out[h2SettingKey(l.key)] = field({ env: l.env, description: `own HTTP/2 server: ${l.description}`, default: DEFAULT_H2_LIMITS[l.key], min: l.min });
  }
  return out as H2LimitSettings;
}

export function h2SettingKey(k: keyof H2Limits): keyof H2LimitSettings {
  return `h2${k[0]!.toUpperCase()}${k.slice(1)}` as keyof H2LimitSettings;
}

/** Settings of a service with a database. */
export function databaseSettings(c: string, defaults: { pgliteDir: string }) {
  return {
    databaseUrl: url({
      env: "DATABASE_URL",
      description: "PostgreSQL URL; when empty, an embedded PGlite database is used",
      default: "",
      protocols: ["postgres", "postgresql"],
    }),
    pgliteDir: str({
      env: `SB_${c}_PGLITE_DIR`,
      description: "PGlite data directory when DATABASE_URL is empty (memory:// for in-memory)",
      default: defaults.pgliteDir,
    }),
    dbPoolSize: int({ env: `SB_${c}_DB_POOL_SIZE`, description: "PostgreSQL connection pool size", default: 20, min: 1, max: 500 }),
  };
}
