import { natsAccess } from "./nats-access.js";
import type { NatsServer } from "./nats-server.js";
import type {} from "./nats-global-setup.js";

const notOurs = (what: string) => (): never => {
  throw new Error(`the shared nats-server is not a test's to ${what}: start one of its own with startNatsServer()`);
};

/**
 * The run's one nats-server (nats-global-setup.ts). Tests sharing it keep to their own ids:
 * users, channels and KV buckets named per test. signal(), kill(), restart() and reload()
 * throw; stop() leaves it running for the others.
 */
export async function sharedNatsServer(): Promise<NatsServer> {
  // Loaded here, not at the top: testkit also serves the benchmarks, which run without vitest.
  const { inject } = await import("vitest");
  const info = inject("sharedNats");
  if (!info) throw new Error("no shared nats-server: run integration tests through the vitest int project (its globalSetup starts it)");
  return {
    ...natsAccess(info.url, () => info.users),
    port: info.port,
    storeDir: info.storeDir,
    configFile: info.configFile,
    pid: info.pid,
    signal: notOurs("signal"),
    kill: notOurs("kill"),
    restart: notOurs("restart"),
    reload: notOurs("reload"),
    violations: notOurs("read the violations of"),
    stop: async () => {},
  };
}
