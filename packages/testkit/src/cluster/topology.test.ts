import { describe, expect, it } from "vitest";
import { haproxyConfig } from "./haproxy.js";
import { checkTopology, haproxyMaxconn, topology } from "./topology.js";

describe("cluster topology", () => {
  it("sizes HAProxy's maxconn to two descriptors per connection: 9,900 under 20,000 open files", () => {
    expect(haproxyMaxconn(20_000)).toBe(9_900);
    expect(topology("full", 20_000).haproxy.maxconn).toBe(9_900);
  });

  it("is production-shaped at full size", () => {
    const t = topology("full", 20_000);
    expect(t.natsNodes).toBe(3);
    expect(t.natsReplicas).toBe(3);
    expect(t.services).toEqual({ accounts: 2, posts: 2, presence: 2 });
    expect(t.gateways).toBe(3);
    expect(t.ingress).toEqual({ host: "127.0.0.1", port: 8065 });
  });

  it.each(["full", "test"] as const)("%s: HAProxy marks a draining gateway down before its pre-stop delay ends, and outlives its pings", (size) => {
    const t = topology(size, 20_000);
    const h = t.haproxy;
    expect(h.checkInterMs * h.fall + h.checkTimeoutMs).toBeLessThan(t.gateway.preStopDelayMs);
    for (const ms of [h.tunnelTimeoutMs, h.clientTimeoutMs, h.serverTimeoutMs]) expect(ms).toBeGreaterThan((t.gateway.idleTimeoutS * 1000) / 2);
  });

  it("refuses timings that break those promises", () => {
    const t = topology("test", 20_000);
    expect(() => checkTopology({ ...t, gateway: { ...t.gateway, preStopDelayMs: 500 } })).toThrow(/pre-stop delay/);
    expect(() => checkTopology({ ...t, haproxy: { ...t.haproxy, tunnelTimeoutMs: 30_000 } })).toThrow(/timeout tunnel/);
    expect(() => checkTopology({ ...t, natsReplicas: 5 })).toThrow(/R5/);
    expect(() => checkTopology({ ...t, gateway: { ...t.gateway, shutdownDeadlineMs: 2_000 } })).toThrow(/shutdown deadline/);
    expect(() => checkTopology({ ...t, gateways: 9 })).toThrow(/slots/);
  });

  it("writes the HAProxy configuration from the topology", () => {
    const t = topology("full", 20_000);
    const cfg = haproxyConfig({
      topology: t,
      port: 8065,
      statsSocket: "/run/x.sock",
      services: [{ name: "posts", port: 9000, replicas: [{ grpcPort: 9001, opsPort: 9002 }] }],
    });
    for (const line of [
      "maxconn 9900",
      "stats socket /run/x.sock mode 600 level admin",
      "bind 127.0.0.1:8065",
      "timeout tunnel 122000ms",
      "http-request del-header X-Forwarded-For",
      "option forwardfor",
      "balance leastconn",
      "option redispatch 1",
      "http-check send meth GET uri /readyz",
      "default-server check inter 1000ms fall 2 rise 2",
      "server-template gw 1-8 127.0.0.1:9 disabled",
      "server posts-0 127.0.0.1:9001 port 9002",
    ]) {
      expect(cfg).toContain(line);
    }
  });
});
