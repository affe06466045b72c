/**
 * The gRPC server side of the glue, behind one interface with two implementations: our own
 * HTTP/2 (h2-server.ts, on h2/connection.ts) and @grpc/grpc-js's Server (grpc-js-server.ts).
 * Both run the same method handlers (methods.ts): request parsing that answers
 * INVALID_ARGUMENT, a default deadline, message size limits, error mapping, metrics, the
 * standard health service and (when asked) reflection; answers already encoded
 * (EncodedResponse, MessageWriter) go out as they are on both.
 */
import { createGrpcJsServer } from "./grpc-js-server.js";
import { createH2Server } from "./h2-server.js";
import { createMethodTable } from "./methods.js";
import { DEFAULT_RPC_SERVER_TRANSPORT, type ResolvedServerOptions, type RpcServer, type RpcServerOptions } from "./server-seam.js";

export type { ServiceImpl, ImplOf, RequestDecoders } from "./methods.js";
export { EncodedResponse } from "./message-writer.js";

export {
  DEFAULT_RPC_SERVER_TRANSPORT,
  RPC_AUTH_MODES,
  RPC_SERVER_TRANSPORTS,
  type RpcAuthMode,
  type RpcServer,
  type RpcServerOptions,
  type RpcServerTransport,
  type ServerTlsOptions,
} from "./server-seam.js";

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
