export type { CallContext } from "./context.js";
export type { RpcServer, RpcServerOptions, ServiceImpl, ImplOf, RequestDecoders } from "./server.js";
export type { RpcServerTransport } from "./server.js";
export { createRpcServer, EncodedResponse, RPC_SERVER_TRANSPORTS, DEFAULT_RPC_SERVER_TRANSPORT } from "./server.js";
export { MessageWriter } from "./message-writer.js";
export type { RpcClient, RpcClientOptions, CallOptions } from "./client.js";
export { createRpcClient } from "./client.js";
export type { HealthService } from "./health.js";
export { ERROR_ID_KEY, fromServiceError, toCallStatus, grpcStatusOf } from "./errors.js";
