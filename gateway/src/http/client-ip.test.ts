import { describe, expect, it } from "vitest";
import { clientIp, clientIpPolicy } from "./client-ip.js";

const headers =
  (h: Record<string, string>) =>
  (name: string): string =>
    h[name] ?? "";

describe("clientIp (trusted proxy header)", () => {
  const policy = clientIpPolicy({ headers: ["X-Forwarded-For", "X-Real-IP"], trustedProxies: ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"] });

  it.each([
    // peer, headers, client
    ["127.0.0.1", { "x-forwarded-for": "203.0.113.7" }, "203.0.113.7"],
    ["::ffff:127.0.0.1", { "x-forwarded-for": "203.0.113.7" }, "203.0.113.7"],
    ["fd00::1", { "x-forwarded-for": "2001:db8::5" }, "2001:db8::5"],
    // a forged entry left of what the proxy saw is not believed
    ["127.0.0.1", { "x-forwarded-for": "198.51.100.1, 203.0.113.7" }, "203.0.113.7"],
    // proxies in the chain are skipped
    ["127.0.0.1", { "x-forwarded-for": "203.0.113.7, 10.1.2.3" }, "203.0.113.7"],
    // only trusted proxies: the leftmost
    ["127.0.0.1", { "x-forwarded-for": "10.9.9.9, 10.1.2.3" }, "10.9.9.9"],
    // garbage stops the walk
    ["127.0.0.1", { "x-forwarded-for": "203.0.113.7, bogus" }, "127.0.0.1"],
    ["127.0.0.1", { "x-forwarded-for": "bogus, 10.1.2.3, 203.0.113.9" }, "203.0.113.9"],
    // the next header when the first is absent
    ["127.0.0.1", { "x-real-ip": "203.0.113.8" }, "203.0.113.8"],
    ["127.0.0.1", {}, "127.0.0.1"],
    // an untrusted peer is the client, whatever it claims
    ["127.0.0.2", { "x-forwarded-for": "203.0.113.7" }, "127.0.0.2"],
    ["192.0.2.4", { "x-real-ip": "10.0.0.1" }, "192.0.2.4"],
    ["::ffff:192.0.2.4", { "x-forwarded-for": "203.0.113.7" }, "192.0.2.4"],
  ])("peer %s with %j -> %s", (peer, h, want) => {
    expect(clientIp(policy, peer, headers(h))).toBe(want);
  });

  it("without a header or without trusted proxies, the peer is always the client", () => {
    const noHeader = clientIpPolicy({ headers: [], trustedProxies: ["127.0.0.1/32"] });
    const noProxy = clientIpPolicy({ headers: ["X-Forwarded-For"], trustedProxies: [] });
    for (const p of [noHeader, noProxy]) expect(clientIp(p, "127.0.0.1", headers({ "x-forwarded-for": "203.0.113.7" }))).toBe("127.0.0.1");
  });

  it("refuses a malformed proxy range with its name", () => {
    expect(() => clientIpPolicy({ headers: [], trustedProxies: ["10.0.0.0/33"] })).toThrow(/10\.0\.0\.0\/33/);
    expect(() => clientIpPolicy({ headers: [], trustedProxies: ["proxy.example"] })).toThrow(/proxy\.example/);
    expect(() => clientIpPolicy({ headers: [], trustedProxies: ["10.0.0.0/x"] })).toThrow(/prefix/);
  });
});
