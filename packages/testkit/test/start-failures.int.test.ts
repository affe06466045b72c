/**
 * A server that cannot start says why at once, instead of after a start-up deadline: here its
 * port is taken.
 */
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHaproxy, startNatsServer, topology } from "../src/index.js";

let taken: Server;
let port = 0;

beforeAll(async () => {
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", () => resolve()));
  port = (taken.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((r) => taken.close(r));
});

describe("a server whose port is taken", () => {
  it("nats-server fails within seconds, with its own message", async () => {
    const started = Date.now();
    await expect(startNatsServer({ port })).rejects.toThrow(/address already in use/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("haproxy fails within seconds, with its own message", async () => {
    const started = Date.now();
    await expect(startHaproxy({ topology: topology("test"), port })).rejects.toThrow(/cannot bind socket/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
