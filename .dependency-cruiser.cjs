// Package boundaries and import cycles, checked over every workspace's sources (make lint).
// Workspace packages resolve through their exports to src/ (the "@switchboard/source" condition),
// so a dependency on another workspace shows as a dependency on that workspace's files.
const WORKSPACE = "^((?:packages|services)/[^/]+|proto|gateway|bench|acceptance)/";
const DEPLOYABLE = "^(services/[^/]+|gateway)/";
// Each third-party SDK lives in exactly one package (pg: the database layer, the test kit's
// direct connections and the bench's baselines; uWebSockets.js: the gateway and the bench's floor).
const SDK_HOMES = {
  "@nats-io/transport-node": ["packages/bus"],
  "@nats-io/jetstream": ["packages/bus"],
  "@nats-io/kv": ["packages/bus"],
  "@grpc/grpc-js": ["packages/rpc"],
  "uWebSockets.js": ["gateway", "bench"],
  "prom-client": ["packages/metrics"],
  "@electric-sql/pglite": ["packages/db"],
  pg: ["packages/db", "packages/testkit", "bench"],
  pino: ["packages/log"],
};
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "no import cycles, type-only ones included", from: {}, to: { circular: true } },
    {
      name: "deployables-independent",
      severity: "error",
      comment: "a deployable (services/*, gateway) never imports another",
      from: { path: DEPLOYABLE },
      to: { path: DEPLOYABLE, pathNot: "^$1/" },
    },
    {
      name: "shared-not-to-deployable",
      severity: "error",
      comment: "shared packages (packages/*, proto) never depend on a deployable",
      from: { path: "^(packages|proto)/" },
      to: { path: DEPLOYABLE },
    },
    { name: "nothing-to-bench", severity: "error", comment: "nothing depends on bench", from: { pathNot: "^bench/" }, to: { path: "^bench/" } },
    {
      name: "nothing-to-acceptance",
      severity: "error",
      comment: "nothing depends on the acceptance tests",
      from: { pathNot: "^acceptance/" },
      to: { path: "^acceptance/" },
    },
    ...Object.entries(SDK_HOMES).map(([sdk, homes]) => ({
      name: "sdk-home",
      severity: "error",
      comment: `${sdk} is used from ${homes.join(" or ")} only`,
      from: { path: WORKSPACE, pathNot: `^(${homes.map(escape).join("|")})/` },
      to: { path: `(^|/)node_modules/${escape(sdk)}/` },
    })),
    {
      name: "no-deep-import",
      severity: "error",
      comment: "another workspace is reached through its package name and exports, not a relative path into its files",
      from: { path: WORKSPACE },
      to: { path: WORKSPACE, pathNot: "^$1/", dependencyTypes: ["local"] },
    },
    {
      name: "declared-dependency",
      severity: "error",
      comment: "every bare import is declared in the importing workspace's package.json (tests may use the root's vitest)",
      from: {},
      to: { dependencyTypes: ["npm-no-pkg", "npm-unknown"], pathNot: "(^|/)node_modules/vitest/" },
    },
    {
      name: "vitest-in-tests-only",
      severity: "error",
      comment: "the root's vitest is imported by tests only, and by testkit's test-run setup (testkit is test tooling)",
      from: { pathNot: "(\\.test\\.(ts|mjs)|/test/[^/]+\\.ts)$|^packages/testkit/src/" },
      to: { path: "(^|/)node_modules/vitest/" },
    },
    {
      name: "resolvable",
      severity: "error",
      comment: "every import resolves (an export a package does not make is unresolvable)",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: `${WORKSPACE}dist/|^proto/src/gen/|^bench/results/` },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.base.json" },
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["@switchboard/source", "import", "types", "default"],
      extensions: [".ts", ".js", ".mjs", ".d.ts"],
      mainFields: ["module", "main", "types"],
    },
  },
};
