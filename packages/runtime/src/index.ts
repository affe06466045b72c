export { commonSettings, grpcSettings, databaseSettings } from "./settings.js";
export type { Runtime } from "./runtime.js";
export { createRuntime, opsServerComponent, busComponent, databaseComponent, rpcServerComponent } from "./runtime.js";
