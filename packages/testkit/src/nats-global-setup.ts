/**
 * Integration runs start one nats-server for every test that does not need one of its own
 * (vitest globalSetup of the int project; tests reach it through sharedNatsServer()). Tests
 * that stop, kill or reconfigure their server, or need a stream all to themselves, start
 * their own with startNatsServer().
 */
import type { TestProject } from "vitest/node";
import { connectBus, controlStreamSpec, ensureStream, eventStreamSpec, type NatsUsers } from "@switchboard/bus";
import { startNatsServer } from "./nats-server.js";

export interface SharedNatsInfo {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  readonly configFile: string;
  readonly pid: number | undefined;
  /** Its users (authorization is on): tests connect as a component, or as `test`. */
  readonly users: NatsUsers;
}

declare module "vitest" {
  export interface ProvidedContext {
    sharedNats: SharedNatsInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const nats = await startNatsServer();
  // The streams exist from the start, made by their owners' users, as posts and accounts
  // would: a test of presence alone (which waits for posts's stream) need not start posts.
  for (const [role, spec] of [
    ["posts", eventStreamSpec({ maxAgeMs: 15 * 60_000 })],
    ["accounts", controlStreamSpec({ maxAgeMs: 15 * 60_000 })],
  ] as const) {
    const bus = await connectBus({ ...nats.as(role), name: `test-setup/${role}` });
    await ensureStream(bus, spec);
    await bus.close();
  }
  project.provide("sharedNats", { url: nats.url, port: nats.port, storeDir: nats.storeDir, configFile: nats.configFile, pid: nats.pid, users: nats.users });
  return async () => {
    // What the run's components were refused shows here (a test that forges on purpose uses a server of its own).
    const refused = nats.violations();
    if (refused.length > 0) console.warn(`nats-server refused ${refused.length} time(s) in this run:\n${refused.slice(0, 50).join("\n")}`);
    await nats.stop();
  };
}
