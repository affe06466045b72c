import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources in tests (the "@switchboard/source"
// export condition), so unit tests need no build. Integration tests that spawn deployables
// as processes run their built dist/ (make test builds first).
const conditions = ["@switchboard/source", ...defaultServerConditions];

// Test files at once in the first group (unit, int, int-grpc-js). Vitest's default is one less
// than the cores: 1 on a 2-core machine, where the integration files then ran one at a time and
// mostly waited on the servers they spawn (687 s of test time took 690 s; with 3 at a time, 255 s).
// SB_TEST_WORKERS overrides it. Files that measure memory or load a core on purpose run alone,
// after (the "int-alone" project), and the cluster acceptance files after those.
const workers = Number(process.env.SB_TEST_WORKERS ?? 3);
const runAlone = ["packages/rpc/test/hostile-h2.int.test.ts"];
// Cluster acceptance files at once (each starts a production-shaped cluster of its own): one by
// default. SB_ACCEPTANCE_WORKERS=2 ran the nine files in 501 s where they took 880 s of test
// time, on a machine with other jobs loading it, every file passing but one start-up race
// (since fixed); not the default until it has held in clean runs.
const acceptanceWorkers = Number(process.env.SB_ACCEPTANCE_WORKERS ?? 1);

// make images-check: each built image under podman. Not part of make test (it needs the images,
// which take a minute or more to build), so the project exists only when that target asks for it.
const imagesProject = {
  extends: true,
  test: {
    name: "images",
    include: ["acceptance/test/**/*.images.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
} as const;

// make k8s-smoke: k8s/overlays/local under podman kube play (acceptance/test/*.k8s-smoke.ts). It
// needs the images too, so make k8s-smoke builds them first and then asks for this project alone.
const k8sSmokeProject = {
  extends: true,
  test: {
    name: "k8s-smoke",
    include: ["acceptance/test/**/*.k8s-smoke.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 120_000,
  },
} as const;

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    // The stock Mattermost client narrates its connection on the console.
    onConsoleLog: (log) => !/^(websocket |got connection id|long timeout|missed websocket event|network (on|off)line)/.test(log),
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          maxWorkers: workers,
          include: ["{packages,services,gateway,bench}/**/src/**/*.test.ts", "proto/**/*.test.ts", "scripts/**/*.test.mjs"],
          exclude: ["**/node_modules/**", "**/dist/**"],
        },
      },
      {
        extends: true,
        test: {
          name: "int",
          maxWorkers: workers,
          include: ["{packages,services,gateway,bench}/**/test/**/*.int.test.ts"],
          // One nats-server for the tests that do not need their own (sharedNatsServer()).
          globalSetup: ["packages/testkit/src/nats-global-setup.ts"],
          exclude: ["**/node_modules/**", "**/dist/**", ...runAlone],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          teardownTimeout: 30_000,
        },
      },
      {
        // The hostile-peer suite measures the target's RSS and other callers' latency under attack:
        // alone, after the parallel group, so no other file's load or memory is read as its own.
        extends: true,
        test: {
          name: "int-alone",
          include: runAlone,
          globalSetup: ["packages/testkit/src/nats-global-setup.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          teardownTimeout: 30_000,
        },
      },
      {
        // The cluster under faults (acceptance/): each file starts a production-shaped cluster of
        // its own, so these run one file at a time, after the other projects (groupOrder), and
        // not beside them on a 2-core machine. SB_CHAOS_SIZE=full (make chaos) runs them at full size.
        extends: true,
        test: {
          name: "acceptance",
          include: ["acceptance/test/**/*.int.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          maxWorkers: acceptanceWorkers,
          fileParallelism: acceptanceWorkers > 1,
          sequence: { groupOrder: 2 },
          testTimeout: 300_000,
          hookTimeout: 180_000,
          teardownTimeout: 60_000,
        },
      },
      {
        // The integration tests of presence and accounts once more, every gRPC server they start on
        // the implementation services do not run by default (SB_RPC_SERVER; packages/rpc tests both itself).
        extends: true,
        test: {
          name: "int-grpc-js",
          maxWorkers: workers,
          include: ["services/{presence,accounts}/test/**/*.int.test.ts"],
          globalSetup: ["packages/testkit/src/nats-global-setup.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          env: { SB_RPC_SERVER: "grpc-js" },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          teardownTimeout: 30_000,
        },
      },
      ...(process.env.SB_IMAGES_CHECK === "1" ? [imagesProject] : []),
      ...(process.env.SB_K8S_SMOKE_RUN === "1" ? [k8sSmokeProject] : []),
    ],
  },
});
