export { commonSettings, grpcSettings, databaseSettings } from "./settings.js";
export type { AppDeps, Runtime, GrpcServerSettings } from "./runtime.js";
export type { NatsClientSettings } from "./runtime.js";
export { createRuntime, opsServerComponent, busComponent, databaseComponent, rpcServerComponent, assembleApp, clientComponent } from "./runtime.js";
export { runDeployable, type DeployableMain } from "./run-deployable.js";
