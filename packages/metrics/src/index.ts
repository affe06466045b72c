export type { MetricsRegistry, Counter, Gauge, Histogram, Labels } from "./registry.js";
export { createMetricsRegistry } from "./registry.js";
export type { OpsServer, OpsServerOptions, Readiness } from "./ops-server.js";
export { startOpsServer } from "./ops-server.js";
