export { commonSettings, grpcSettings, databaseSettings } from "./settings.js";
export type { AppDeps, Runtime, GrpcServerSettings, NatsClientSettings } from "./runtime.js";
export { rpcCaller, type RpcAuthSettings, type RpcCallerOptions } from "./rpc-auth.js";
export { createRuntime, opsServerComponent, busComponent, databaseComponent, rpcServerComponent, assembleApp, clientComponent } from "./runtime.js";
export { runDeployable, type DeployableMain } from "./run-deployable.js";
