export type { Component } from "./component.js";
export { createLifecycle, StoppingError, type Lifecycle } from "./lifecycle.js";
export { createReadiness, type ReadinessTracker } from "./readiness.js";
export { runMain, type MainOptions, type RunningApp } from "./run-main.js";
export { createFailpoints, noFailpoints, type Failpoints } from "./failpoints.js";
