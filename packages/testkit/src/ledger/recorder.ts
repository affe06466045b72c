/**
 * Recorder clients for the ledger: each is an unmodified stock `WebSocketClient` (with the
 * Node shims of mattermost-client.ts) that records everything it lives through:
 * - every event its listeners get (what an app sees), with seq, identity and receive time;
 * - every frame on the wire, before the client's own checks (so replays the client refused,
 *   and duplicates, show up too);
 * - its hellos (connection ids), every close with the code the socket closed with and the one
 *   the client acted on (4001 is the client's own "missed websocket event"), reconnects, and
 *   how often it reported missed events (a hello with a new connection id).
 * Which URL each dial goes to is the test's choice (`target`), so a reconnect can be sent to
 * another gateway or through a fault proxy.
 */
import WebSocket from "ws";
import { WebSocketClient } from "../mattermost-client.js";
import { waitFor } from "../wait.js";
import { eventIdentity, type EventIdentity } from "./event-identity.js";

/** The stock client's close code for a seq it did not expect (lib/websocket.js). */
export const CLIENT_SEQ_MISMATCH = 4001;

export interface ReceivedEvent {
  readonly event: string;
  readonly seq: number;
  /** undefined for kinds the ledger does not check. */
  readonly identity: EventIdentity | undefined;
  /** Which dial (socket) of this client it came on, from 0. */
  readonly dial: number;
  readonly connectionId: string;
  readonly recvTs: number;
}

export interface HelloRecord {
  readonly connectionId: string;
  readonly dial: number;
  readonly recvTs: number;
}

export interface CloseRecord {
  readonly dial: number;
  /** The code the socket closed with (1006 for a drop without a close frame). */
  readonly socketCode: number | undefined;
  /** The code the client acted on: its own 4001/4000, or the socket's. */
  readonly clientCode: string | null;
  readonly ts: number;
}

export interface Recording {
  readonly userId: string;
  readonly label: string;
  /** What the client's listeners got, in order. */
  readonly events: readonly ReceivedEvent[];
  /** Every frame the sockets carried, in order (events only, no replies). */
  readonly wire: readonly ReceivedEvent[];
  readonly hellos: readonly HelloRecord[];
  readonly closes: readonly CloseRecord[];
  /** When each socket opened (the client is back, resumed or not). */
  readonly opens: readonly { readonly dial: number; readonly ts: number }[];
  /** Times the client called its missed-message listeners (a hello with a new connection id). */
  readonly missedReports: number;
  readonly reconnects: number;
  /** Ledger position from which this client is expected to get everything (set by the test). */
  from: number | undefined;
}

export interface RecorderOptions {
  readonly userId: string;
  readonly token: string;
  /** ws://host:port/api/v4/websocket, or a function asked on every dial (the client's query is kept). */
  readonly target: string | ((dial: number) => string);
  readonly label?: string;
  /** Sees every event frame as it arrives, parsed, before the client does (tests that check kinds the ledger does not, such as typing). */
  readonly onFrame?: (frame: Readonly<Record<string, unknown>>, dial: number) => void;
  /** Drops an event before the client sees it: for tests of the checker on a live stack. */
  readonly dropEvent?: (msg: Readonly<Record<string, unknown>>) => boolean;
  /** The client's shortest wait before a reconnect, and the jitter added to it (default 100 and 50 ms; the stock client's own: 3,000 and 2,000). */
  readonly minRetryMs?: number;
  readonly jitterMs?: number;
}

export interface Recorder extends Recording {
  readonly client: InstanceType<typeof WebSocketClient>;
  /** The sockets dialed so far (the last one is current). */
  readonly sockets: readonly WebSocket[];
  /** Waits for the next hello (the first one when none came yet). */
  waitForHello(timeoutMs?: number): Promise<HelloRecord>;
  close(): void;
}

interface Frame {
  event?: unknown;
  seq?: unknown;
  seq_reply?: unknown;
  data?: unknown;
  broadcast?: unknown;
}

function received(m: Frame, dial: number, connectionId: string): ReceivedEvent {
  const event = String(m.event);
  const data = (m.data ?? {}) as Record<string, unknown>;
  const b = (m.broadcast ?? {}) as Record<string, unknown>;
  return {
    event,
    seq: Number(m.seq),
    identity: eventIdentity(event, data, typeof b.channel_id === "string" ? b.channel_id : ""),
    dial,
    connectionId,
    recvTs: Date.now(),
  };
}

/** Starts a recorder client (it connects at once) and returns it; `waitForHello` to know it is in. */
export function startRecorder(o: RecorderOptions): Recorder {
  const sockets: WebSocket[] = [];
  const events: ReceivedEvent[] = [];
  const wire: ReceivedEvent[] = [];
  const hellos: HelloRecord[] = [];
  const closes: CloseRecord[] = [];
  const opens: { dial: number; ts: number }[] = [];
  const socketCodes = new Map<number, number>();
  let connectionId = "";
  // The frame the wire listener saw last: the client's own listener runs right after it for the
  // same frame (ws calls its listeners in order, synchronously), so its record is reused.
  let lastWire: ReceivedEvent | undefined;
  const pick = typeof o.target === "string" ? () => o.target as string : o.target;

  const client = new WebSocketClient({
    newWebSocketFn: (url: string) => {
      const dial = sockets.length;
      const q = url.indexOf("?");
      const ws = new WebSocket(pick(dial) + (q >= 0 ? url.slice(q) : ""), { headers: { Authorization: `Bearer ${o.token}` } });
      sockets.push(ws);
      // Registered before the client's own onmessage (set by the client after this returns),
      // so the wire record sees each frame first, and a dropped frame never reaches the client.
      ws.on("message", (raw: Buffer) => {
        let m: Frame;
        try {
          m = JSON.parse(raw.toString()) as Frame;
        } catch {
          return;
        }
        if (m.seq_reply || typeof m.event !== "string") return;
        if (m.event === "hello") {
          const d = (m.data ?? {}) as Record<string, unknown>;
          hellos.push({ connectionId: String(d.connection_id), dial, recvTs: Date.now() });
          connectionId = String(d.connection_id);
        }
        lastWire = received(m, dial, connectionId);
        wire.push(lastWire);
        o.onFrame?.(m as Record<string, unknown>, dial);
      });
      ws.on("open", () => opens.push({ dial, ts: Date.now() }));
      ws.on("close", (code: number) => {
        socketCodes.set(dial, code);
      });
      return ws as unknown as globalThis.WebSocket;
    },
    minWebSocketRetryTime: o.minRetryMs ?? 100,
    reconnectJitterRange: o.jitterMs ?? 50,
    clientPingInterval: 30_000,
  });

  const rec: Recorder = {
    userId: o.userId,
    label: o.label ?? o.userId,
    client,
    sockets,
    events,
    wire,
    hellos,
    closes,
    opens,
    missedReports: 0,
    reconnects: 0,
    from: undefined,
    async waitForHello(timeoutMs = 10_000) {
      const n = hellos.length;
      return waitFor(() => (n === 0 ? hellos[0] : hellos[n]), { timeoutMs, what: `hello for ${rec.label}` });
    },
    close() {
      client.close();
      for (const s of sockets) if (s.readyState !== WebSocket.CLOSED) s.terminate();
    },
  };
  const mutable = rec as { missedReports: number; reconnects: number };
  client.addMessageListener((m: unknown) => {
    const f = m as Frame;
    if (o.dropEvent?.(f as Record<string, unknown>)) return;
    const w = lastWire;
    events.push(w && w.seq === f.seq && w.event === f.event ? { ...w, recvTs: Date.now() } : received(f, sockets.length - 1, connectionId));
  });
  client.addMissedMessageListener(() => mutable.missedReports++);
  client.addReconnectListener(() => mutable.reconnects++);
  client.addCloseListener(() => {
    const dial = sockets.length - 1;
    // The client sets lastErrCode before it calls its close listeners; the socket's own code
    // may arrive later (the client closes a socket it gave up on without waiting).
    const clientCode = (client as unknown as { lastErrCode: string | null }).lastErrCode;
    closes.push({ dial, socketCode: socketCodes.get(dial), clientCode, ts: Date.now() });
  });
  const t = o.target;
  client.initialize(typeof t === "string" ? t : t(0), undefined, true);
  return rec;
}
