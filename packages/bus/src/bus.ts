/**
 * The one module that talks to NATS. Everything else sees these small interfaces, never
 * a NatsConnection: the connection behind a Bus is reachable only from this package's own
 * modules (streams, KV, durable publishes), through natsConnectionOf, which the package's
 * index does not export.
 */
import { readFileSync } from "node:fs";
import {
  connect,
  headers as natsHeaders,
  usernamePasswordAuthenticator,
  type ConnectionOptions,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import { inboxPrefix } from "./nats-config/permissions.js";

export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  header(name: string): string | undefined;
  /** Present on request messages: respond() answers the requester. */
  readonly reply: string | undefined;
  respond(data: Uint8Array): boolean;
}

export interface BusSubscription {
  readonly subject: string;
  unsubscribe(): void;
}

export type BusState = "connected" | "disconnected" | "reconnecting" | "closed";

export interface BusStatusEvent {
  readonly state: BusState;
  readonly server?: string;
  readonly error?: Error;
}

export interface BusOptions {
  readonly servers: string | readonly string[];
  /** Client name shown by the server (pod name + component). */
  readonly name: string;
  /** The component's NATS user: its replies come to its own inbox prefix (`_INBOX.<user>`). */
  readonly user?: string;
  readonly pass?: string;
  /** A file holding the password, read at every (re)connect: a rotated password needs no restart. */
  readonly passFile?: string;
  /** TLS to the server: the CA that signed its certificate, and a client certificate if it asks for one. */
  readonly tls?: { readonly caFile: string; readonly certFile?: string; readonly keyFile?: string };
  /** Default 250 ms between reconnect attempts (jittered by the client). */
  readonly reconnectWaitMs?: number;
  readonly pingIntervalMs?: number;
  readonly onStatus?: (s: BusStatusEvent) => void;
}

export interface Bus {
  readonly connected: boolean;
  /** Core publish: at most once. Durable events go through JetStream (streams.ts). */
  publish(subject: string, data: Uint8Array, headers?: Readonly<Record<string, string>>): void;
  /** Handlers run in arrival order, synchronously, on the event loop. */
  subscribe(subject: string, handler: (m: BusMessage) => void, opts?: { queue?: string }): BusSubscription;
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<BusMessage>;
  /** Round trip to the server: everything published before has reached it. */
  flush(): Promise<void>;
  /** Drains subscriptions and pending publishes, then closes. */
  drain(): Promise<void>;
  close(): Promise<void>;
  /** Resolves when the connection is closed for good (error if it closed because of one). */
  closed(): Promise<Error | void>;
  /**
   * Calls `listener` on every change of the connection's state (after BusOptions.onStatus):
   * a subscriber that must catch up on what a disconnection cost it hears of both ends of
   * the outage. Returns the function that removes the listener.
   */
  onStatus(listener: (s: BusStatusEvent) => void): () => void;
}

const connections = new WeakMap<Bus, NatsConnection>();
const inboxPrefixes = new WeakMap<Bus, string>();

/** The inbox prefix of a Bus's connection (its user's own), for this package's request plumbing. */
export function inboxPrefixOf(bus: Bus): string | undefined {
  return inboxPrefixes.get(bus);
}

/** The connection behind a Bus from connectBus. For this package's JetStream and KV modules only. */
export function natsConnectionOf(bus: Bus): NatsConnection {
  const nc = connections.get(bus);
  if (!nc) throw new Error("this Bus was not made by connectBus: JetStream and KV need a real connection");
  return nc;
}

function toBusMessage(m: { subject: string; data: Uint8Array; headers?: MsgHdrs; reply?: string; respond(d?: Uint8Array): boolean }): BusMessage {
  return {
    subject: m.subject,
    data: m.data,
    header: (name) => (m.headers?.has(name) ? m.headers.get(name) : undefined),
    reply: m.reply || undefined,
    respond: (d) => m.respond(d),
  };
}

/** The password from the file, trimmed of its line end; read again at every connect. */
function readPassword(file: string): string {
  return readFileSync(file, "utf8").trim();
}

function authOptions(o: BusOptions): Partial<ConnectionOptions> {
  if (!o.user) return {};
  const user = o.user;
  const file = o.passFile;
  const pass = file ? () => readPassword(file) : (o.pass ?? "");
  if (file) readPassword(file); // a missing file fails the start, with its path
  return { authenticator: usernamePasswordAuthenticator(user, pass), inboxPrefix: inboxPrefix(user) };
}

function tlsOptions(o: BusOptions): Partial<ConnectionOptions> {
  if (!o.tls) return {};
  return { tls: { caFile: o.tls.caFile, ...(o.tls.certFile ? { certFile: o.tls.certFile } : {}), ...(o.tls.keyFile ? { keyFile: o.tls.keyFile } : {}) } };
}

export async function connectBus(o: BusOptions): Promise<Bus> {
  const nc = await connect({
    servers: typeof o.servers === "string" ? o.servers.split(",") : [...o.servers],
    name: o.name,
    ...authOptions(o),
    ...tlsOptions(o),
    // A long-lived edge never gives up on NATS: it stays not-ready and keeps trying.
    maxReconnectAttempts: -1,
    reconnectTimeWait: o.reconnectWaitMs ?? 250,
    reconnectJitter: 100,
    pingInterval: o.pingIntervalMs ?? 10_000,
    maxPingOut: 3,
    waitOnFirstConnect: true,
    timeout: 5_000,
    // Without this every request (each JetStream publish) builds two Error objects up front,
    // only to carry the caller's stack should it fail; our errors name the subject instead.
    noAsyncTraces: true,
  });
  let connected = true;
  const listeners = new Set<(s: BusStatusEvent) => void>();
  const report = (s: BusStatusEvent): void => {
    o.onStatus?.(s);
    for (const l of listeners) l(s);
  };
  void (async () => {
    for await (const s of nc.status()) {
      switch (s.type) {
        case "disconnect":
          connected = false;
          report({ state: "disconnected", server: s.server });
          break;
        case "reconnecting":
          report({ state: "reconnecting" });
          break;
        case "reconnect":
          connected = true;
          report({ state: "connected", server: s.server });
          break;
        case "error":
          report({ state: connected ? "connected" : "disconnected", error: s.error });
          break;
        default:
          break;
      }
    }
  })();
  const closedP = nc.closed().then((err) => {
    connected = false;
    report({ state: "closed", ...(err ? { error: err } : {}) });
    return err ?? undefined;
  });

  const bus: Bus = {
    get connected() {
      return connected && !nc.isClosed();
    },
    publish(subject, data, headers) {
      if (headers) {
        const h = natsHeaders();
        for (const [k, v] of Object.entries(headers)) h.set(k, v);
        nc.publish(subject, data, { headers: h });
      } else {
        nc.publish(subject, data);
      }
    },
    subscribe(subject, handler, opts) {
      const sub: Subscription = nc.subscribe(subject, {
        ...(opts?.queue ? { queue: opts.queue } : {}),
        callback: (err, m) => {
          if (!err) handler(toBusMessage(m));
        },
      });
      return { subject, unsubscribe: () => sub.unsubscribe() };
    },
    async request(subject, data, timeoutMs) {
      return toBusMessage(await nc.request(subject, data, { timeout: timeoutMs }));
    },
    flush: () => nc.flush(),
    drain: async () => {
      if (!nc.isClosed() && !nc.isDraining()) await nc.drain();
    },
    close: async () => {
      if (!nc.isClosed()) await nc.close();
    },
    closed: () => closedP,
    onStatus(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  connections.set(bus, nc);
  if (o.user) inboxPrefixes.set(bus, inboxPrefix(o.user));
  return bus;
}
