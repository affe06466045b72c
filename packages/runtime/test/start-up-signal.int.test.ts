/**
 * A shutdown signal during start-up (a pod deleted while it still waits for NATS or migrates,
 * Ctrl-C on `make dev`) stops what had started and exits 0 at once: it neither waits for the
 * start-up to finish (it may wait for NATS indefinitely) nor runs into the shutdown deadline.
 * Run against real deployables, which share this start-up path.
 */
import { describe, expect, it } from "vitest";
import { deployableEntry, freePort, spawnProcess, testKek, deployableTestEnv, type DeployableName } from "@switchboard/testkit";

const cases: { name: DeployableName; env: Record<string, string>; startedFirst: string[] }[] = [
  {
    name: "accounts",
    env: { DATABASE_URL: "", SB_ACCOUNTS_PGLITE_DIR: "memory://", SB_ACCOUNTS_GRPC_PORT: "0", SB_ACCOUNTS_OPS_PORT: "0", SB_ACCOUNTS_KEK: testKek() },
    startedFirst: ["ops-server", "database"],
  },
  {
    name: "gateway",
    env: {
      SB_GATEWAY_LISTEN_PORT: "0",
      SB_GATEWAY_OPS_PORT: "0",
      SB_GATEWAY_ACCOUNTS_ADDR: "127.0.0.1:1",
      SB_GATEWAY_POSTS_ADDR: "127.0.0.1:1",
      SB_GATEWAY_PRESENCE_ADDR: "127.0.0.1:1",
    },
    startedFirst: ["ops-server"],
  },
];

describe("a shutdown signal during start-up", () => {
  it.each(cases)("stops what $name had started and exits 0 at once, while it still waits for NATS", async ({ name, env, startedFirst }) => {
    // Nothing listens there: the NATS component waits for its first connection.
    const nats = `nats://127.0.0.1:${String(await freePort())}`;
    const child = await spawnProcess({
      entry: deployableEntry(name),
      env: { ...deployableTestEnv(name), ...env, SB_NATS_URL: nats, SB_POD_NAME: "start-up-signal" },
      readyMsg: "starting",
    });
    for (const part of startedFirst) await child.waitForLog((l) => l.msg === "started" && l.part === part);
    // Still starting: nothing after the NATS connection has started, and no "ready".
    expect(child.logs.some((l) => l.msg === "ready")).toBe(false);

    const t0 = Date.now();
    child.signal("SIGTERM");
    const code = await child.exited;
    expect(code).toBe(0);
    // The shutdown deadline is 25 s by default; a prompt exit is well inside it.
    expect(Date.now() - t0).toBeLessThan(10_000);
    for (const part of startedFirst) expect(child.logs).toContainEqual(expect.objectContaining({ msg: "stopped", part }));
    expect(child.logs).toContainEqual(expect.objectContaining({ msg: "start-up abandoned on the signal; what had started is stopped" }));
  });
});
