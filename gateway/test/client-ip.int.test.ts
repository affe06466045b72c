/**
 * The client IP a gateway logs for a WebSocket: X-Forwarded-For is believed from a trusted
 * proxy's address only. The gateway trusts 127.0.0.1; sockets come from other loopback
 * addresses (127.0.0.0/8 is all loopback) to play untrusted clients.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startStack, waitFor, type Stack } from "@switchboard/testkit";
import { wsUrl } from "./support.js";

let stack: Stack;
let url: string;

beforeAll(async () => {
  stack = await startStack({
    gatewayEnv: { SB_GATEWAY_LOG_LEVEL: "debug", SB_GATEWAY_TRUSTED_PROXY_IP_HEADER: "X-Forwarded-For", SB_GATEWAY_TRUSTED_PROXIES: "127.0.0.1/32" },
  });
  url = stack.gatewayUrls[0]!;
});

afterAll(async () => {
  await stack?.stop();
});

/** Opens a socket from `localAddress` with these headers; resolves with the client_ip the gateway logged for it. */
async function loggedIp(localAddress: string, headers: Record<string, string>): Promise<string> {
  const gw = stack.gateways[0]!;
  const before = gw.logs.length;
  const ws = new WebSocket(wsUrl(url), { localAddress, headers });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const line = await waitFor(() => gw.logs.slice(before).find((l) => l.msg === "websocket connected"), { timeoutMs: 10_000, what: "the connect log line" });
    return String(line.client_ip);
  } finally {
    ws.close();
  }
}

describe("client IP behind a proxy", () => {
  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", async () => {
    expect(await loggedIp("127.0.0.2", { "X-Forwarded-For": "203.0.113.7" })).toBe("127.0.0.2");
  });

  it("uses X-Forwarded-For from a trusted proxy, the address that proxy saw", async () => {
    expect(await loggedIp("127.0.0.1", { "X-Forwarded-For": "203.0.113.7" })).toBe("203.0.113.7");
    // A client's own entry left of the proxy's is not believed.
    expect(await loggedIp("127.0.0.1", { "X-Forwarded-For": "198.51.100.1, 203.0.113.7" })).toBe("203.0.113.7");
  });

  it("is the peer's address when there is no header", async () => {
    expect(await loggedIp("127.0.0.1", {})).toBe("127.0.0.1");
  });
});
