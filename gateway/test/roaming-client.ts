/**
 * A stock WebSocketClient whose reconnects can land on another gateway, as behind a load
 * balancer: its own newWebSocketFn keeps the path and query the client built (connection_id,
 * sequence_number) and dials the host:port the test chose for that attempt. Every event is
 * recorded with the socket it came on.
 */
import WebSocket from "ws";
import { WebSocketClient, waitFor } from "@switchboard/testkit";
import { wsUrl, type WsMessage } from "./support.js";

export interface Roamer {
  readonly client: WebSocketClient;
  readonly events: WsMessage[];
  /** The socket index (0 = first) each event came on, parallel to events. */
  readonly socketOf: number[];
  /** The gateway (http base URL) each socket dialled. */
  readonly dialled: string[];
  readonly sockets: WebSocket[];
  /** Where the next reconnect goes (http base URL of a gateway). */
  target: string;
  missed: number;
  reconnects: number;
  named(name: string): WsMessage[];
  next(pred: (m: WsMessage) => boolean, timeoutMs?: number): Promise<WsMessage>;
  /** Drops the TCP connection without a close frame. */
  drop(): void;
  close(): void;
}

export interface RoamOptions {
  /** The stock reconnect timing (3 s + up to 2 s jitter) instead of the fast one. */
  readonly stockTiming?: boolean;
}

export async function roam(first: string, token: string, o: RoamOptions = {}): Promise<Roamer> {
  const sockets: WebSocket[] = [];
  const dialled: string[] = [];
  const events: WsMessage[] = [];
  const socketOf: number[] = [];
  const client = new WebSocketClient({
    newWebSocketFn: (url: string) => {
      const u = new URL(url);
      const to = new URL(r.target);
      u.host = to.host;
      const ws = new WebSocket(u.toString(), { headers: { Authorization: `Bearer ${token}` } });
      sockets.push(ws);
      dialled.push(r.target);
      return ws as unknown as globalThis.WebSocket;
    },
    ...(o.stockTiming ? {} : { minWebSocketRetryTime: 100, reconnectJitterRange: 50 }),
    clientPingInterval: 30_000,
  });
  const r: Roamer = {
    client,
    events,
    socketOf,
    dialled,
    sockets,
    target: first,
    missed: 0,
    reconnects: 0,
    named: (name) => events.filter((e) => e.event === name),
    next: (pred, timeoutMs = 15_000) => waitFor(() => events.find(pred), { timeoutMs, what: "websocket event" }),
    drop: () => (sockets.at(-1) as unknown as { _socket: { destroy(): void } })._socket.destroy(),
    close: () => client.close(),
  };
  client.addMessageListener((m) => {
    events.push(m as WsMessage);
    socketOf.push(sockets.length - 1);
  });
  client.addMissedMessageListener(() => r.missed++);
  client.addReconnectListener(() => r.reconnects++);
  client.initialize(wsUrl(first), undefined, true);
  await r.next((m) => m.event === "hello");
  return r;
}
