/**
 * The seam between services and the gRPC server implementations: the options a server takes
 * and the interface both implementations (h2-server.ts, grpc-js-server.ts) give. server.ts
 * chooses between them.
 */
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { Logger } from "@switchboard/log";
import type { IdentityFiles } from "@switchboard/pki";
import type { MetricsRegistry } from "@switchboard/metrics";
import type { H2Limits } from "./h2/limits.js";
import type { HealthService } from "./health.js";
import type { RequestDecoders, ServiceImpl } from "./methods.js";

/** The implementations of RpcServer: our own HTTP/2, or @grpc/grpc-js's Server. */
export const RPC_SERVER_TRANSPORTS = ["h2", "grpc-js"] as const;
export type RpcServerTransport = (typeof RPC_SERVER_TRANSPORTS)[number];
/**
 * The server services run unless configured otherwise. Our own HTTP/2 passes every test
 * grpc-js's Server passes (test/server.int.test.ts runs them on both) and is several times
 * faster: bench presence-read reports h2_server_* beside grpc_js_server_* in every run (calls/s,
 * p50, p99, CPU per call), grpc-create-post the same (docs/benchmarks.md).
 */
export const DEFAULT_RPC_SERVER_TRANSPORT: RpcServerTransport = "h2";

/**
 * How callers name themselves on a TLS port: a client certificate (mtls), or a signed service
 * token over TLS that authenticates the server alone (token, service-token.ts).
 */
export const RPC_AUTH_MODES = ["mtls", "token"] as const;
export type RpcAuthMode = (typeof RPC_AUTH_MODES)[number];

export interface RpcServerOptions {
  /** Which implementation serves; DEFAULT_RPC_SERVER_TRANSPORT when absent. */
  readonly transport?: RpcServerTransport | undefined;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Inbound and outbound limit; larger messages fail with RESOURCE_EXHAUSTED. */
  readonly maxMessageBytes: number;
  /** Applied to calls that arrive without a deadline. */
  readonly defaultDeadlineMs: number;
  /** Serve grpc.reflection.v1 (off in production unless asked for). */
  readonly reflection?: boolean | undefined;
  /** A connection silent this long gets a PING (default 30 s)... */
  readonly keepaliveMs?: number | undefined;
  /** ...and is closed when the PING is not answered within this (default 10 s). */
  readonly keepaliveTimeoutMs?: number | undefined;
  /** Limits of our own HTTP/2 against hostile peers (h2/limits.ts); each one absent takes its default. */
  readonly h2Limits?: Partial<H2Limits> | undefined;
  /**
   * Serve over TLS (ALPN h2) with this identity, ask every caller for a client certificate
   * from its CA (mTLS; not with serviceTokenKeys), and admit each call by its method's
   * allowlist (call-guard.ts). Absent:
   * plaintext with no caller checks (only tests of the transports themselves run so).
   */
  readonly tls?: ServerTlsOptions | undefined;
  /**
   * With TLS: callers name themselves by a signed service token (service-token.ts) verified
   * with their component's key from this map, and no client certificate is asked for. Absent: mTLS.
   */
  readonly serviceTokenKeys?: ReadonlyMap<string, Uint8Array> | undefined;
  /** Serve grpc.health.v1 alone, plaintext and without credentials, on this port too (0 = any free). */
  readonly healthPort?: number | undefined;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry | undefined;
}

export interface ServerTlsOptions extends IdentityFiles {
  /** How often the files are checked for rotation (tls-identity.ts). */
  readonly reloadIntervalMs?: number | undefined;
}

/** RpcServerOptions with every default applied, as the implementations get them. */
export interface ResolvedServerOptions extends RpcServerOptions {
  readonly transport: RpcServerTransport;
  readonly reflection: boolean;
  readonly keepaliveMs: number;
  readonly keepaliveTimeoutMs: number;
}

export interface RpcServer {
  readonly transport: RpcServerTransport;
  add<T extends GenServiceMethods>(service: GenService<T>, impl: ServiceImpl<T>, decoders?: RequestDecoders<T>): void;
  readonly health: HealthService;
  /** Binds and starts; resolves to the bound port. */
  start(): Promise<number>;
  /** The plaintext health port once started (when one was asked for). */
  readonly healthPort: number | undefined;
  /** Stops accepting calls, lets running calls finish until the deadline, then cancels them. */
  stop(graceMs: number): Promise<void>;
}
