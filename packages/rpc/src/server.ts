/**
 * The gRPC server side of the glue, behind one interface with two implementations: our own
 * HTTP/2 (h2-server.ts, on h2/connection.ts) and @grpc/grpc-js's Server (grpc-js-server.ts).
 * Both run the same method handlers (methods.ts): request parsing that answers
 * INVALID_ARGUMENT, a default deadline, message size limits, error mapping, metrics, the
 * standard health service and (when asked) reflection; answers already encoded
 * (EncodedResponse, MessageWriter) go out as they are on both.
 */
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { Logger } from "@switchboard/log";
import type { MetricsRegistry } from "@switchboard/metrics";
import { createGrpcJsServer } from "./grpc-js-server.js";
import { createH2Server } from "./h2-server.js";
import type { HealthService } from "./health.js";
import { createMethodTable, type RequestDecoders, type ServiceImpl } from "./methods.js";

export type { ServiceImpl, ImplOf, RequestDecoders } from "./methods.js";
export { EncodedResponse } from "./message-writer.js";

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
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry | undefined;
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
  /** Stops accepting calls, lets running calls finish until the deadline, then cancels them. */
  stop(graceMs: number): Promise<void>;
}

const KEEPALIVE_MS = 30_000;
const KEEPALIVE_TIMEOUT_MS = 10_000;

export function createRpcServer(options: RpcServerOptions): RpcServer {
  const o: ResolvedServerOptions = {
    ...options,
    transport: options.transport ?? DEFAULT_RPC_SERVER_TRANSPORT,
    reflection: options.reflection ?? false,
    keepaliveMs: options.keepaliveMs ?? KEEPALIVE_MS,
    keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? KEEPALIVE_TIMEOUT_MS,
  };
  const table = createMethodTable(o);
  return o.transport === "grpc-js" ? createGrpcJsServer(o, table) : createH2Server(o, table);
}
