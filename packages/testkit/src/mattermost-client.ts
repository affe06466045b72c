/**
 * The unmodified stock Mattermost client (`@mattermost/client`) for Node 20 tests: Client4 as
 * is (global fetch), WebSocketClient with `ws` through newWebSocketFn. The client refers to
 * the browser globals `WebSocket` (for readyState constants) and `CloseEvent`, which Node 20
 * lacks: this module provides them.
 */
import mattermost from "@mattermost/client";
import WebSocket from "ws";

// The package is CommonJS: Node's ESM loader only offers its default export.
const { Client4, WebSocketClient } = mattermost;
type Client4 = InstanceType<typeof Client4>;
type WebSocketClient = InstanceType<typeof WebSocketClient>;

class CloseEventShim extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(type: string, init: { code?: number; reason?: string; wasClean?: boolean } = {}) {
    super(type);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? "";
    this.wasClean = init.wasClean ?? false;
  }
}

const g = globalThis as Record<string, unknown>;
g.WebSocket ??= WebSocket;
g.CloseEvent ??= CloseEventShim;

export { Client4, WebSocketClient };

/** A Client4 pointed at a gateway base URL (http://127.0.0.1:port). */
export function newClient4(baseUrl: string): Client4 {
  const c = new Client4();
  c.setUrl(baseUrl);
  return c;
}

export interface WsClientOptions {
  /** Extra headers on the upgrade (e.g. Authorization, Origin). */
  readonly headers?: Record<string, string>;
  /** Keep the sockets created, to break them in tests. */
  readonly sockets?: WebSocket[];
  readonly minRetryMs?: number;
}

/** A stock WebSocketClient whose sockets are `ws` instances (optionally with headers). */
export function newWebSocketClient(o: WsClientOptions = {}): WebSocketClient {
  return new WebSocketClient({
    newWebSocketFn: (url: string) => {
      const ws = new WebSocket(url, { headers: o.headers ?? {} });
      o.sockets?.push(ws);
      return ws as unknown as globalThis.WebSocket;
    },
    minWebSocketRetryTime: o.minRetryMs ?? 100,
    reconnectJitterRange: 50,
    clientPingInterval: 30_000,
  });
}
