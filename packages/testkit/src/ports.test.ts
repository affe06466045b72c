import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePorts } from "./ports.js";

describe("freePorts", () => {
  it("gives distinct ports below the kernel's ephemeral range that a server can then listen on", async () => {
    const ephemeralStart = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    const ports = await freePorts(20);
    expect(new Set(ports).size).toBe(20);
    for (const p of ports) expect(p).toBeLessThan(ephemeralStart);
    const srv = createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(ports[0], "127.0.0.1", () => resolve());
    });
    await new Promise((r) => srv.close(r));
  });
});
