export { commonSettings, grpcSettings, databaseSettings } from "./settings.js";
export type { AppDeps, Runtime, GrpcServerSettings, RpcTlsSettings, NatsClientSettings } from "./runtime.js";
export {
  createRuntime,
  opsServerComponent,
  busComponent,
  databaseComponent,
  rpcServerComponent,
  assembleApp,
  clientComponent,
  rpcClientTls,
  checkRpcIdentity,
} from "./runtime.js";
export { runDeployable, type DeployableMain } from "./run-deployable.js";
