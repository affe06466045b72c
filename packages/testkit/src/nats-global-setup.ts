/**
 * Integration runs start one nats-server for every test that does not need one of its own
 * (vitest globalSetup of the int project; tests reach it through sharedNatsServer()). Tests
 * that stop, kill or reconfigure their server, or need a stream all to themselves, start
 * their own with startNatsServer().
 */
import type { TestProject } from "vitest/node";
import { startNatsServer } from "./nats-server.js";

export interface SharedNatsInfo {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  readonly pid: number | undefined;
}

declare module "vitest" {
  export interface ProvidedContext {
    sharedNats: SharedNatsInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const nats = await startNatsServer();
  project.provide("sharedNats", { url: nats.url, port: nats.port, storeDir: nats.storeDir, pid: nats.pid });
  return () => nats.stop();
}
