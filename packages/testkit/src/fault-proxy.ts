/**
 * A TCP fault proxy on loopback, for putting network faults between two real parts (a client
 * and a gateway, a gateway and nats-server, a service and PostgreSQL). It forwards each
 * accepted connection to the target; faults switch at run time and apply to every connection,
 * open or new:
 * - delay: each chunk is held for the given time before it is forwarded (both directions;
 *   bytes never overtake each other, also when the fault changes);
 * - black-hole: nothing is forwarded any more, but sockets stay open (a partition, or a peer
 *   that stopped reading): new connections are accepted and hang;
 * - reset: every connection is dropped with a TCP RST, and new ones are reset on arrival;
 * - close: every connection is ended cleanly (FIN), and new ones are closed on arrival;
 * - restore: back to plain forwarding (bytes held by black-hole are forwarded then).
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

export type Fault =
  | { readonly kind: "none" }
  | { readonly kind: "delay"; readonly ms: number }
  | { readonly kind: "blackhole" }
  | { readonly kind: "reset" }
  | { readonly kind: "close" };

export interface FaultProxyOptions {
  /** Where to forward: host:port (loopback). */
  readonly target: string;
  /** Port to listen on (default 0: a free one). */
  readonly port?: number;
}

export interface FaultProxy {
  /** 127.0.0.1:port */
  readonly address: string;
  readonly port: number;
  /** Connections open through the proxy now. */
  readonly connections: number;
  /** Bytes received and not forwarded yet (held by a delay or a black hole). */
  readonly queuedBytes: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  readonly fault: Fault;
  delay(ms: number): void;
  blackhole(): void;
  /** RST on every open connection; new connections get one too until restore(). */
  reset(): void;
  /** A clean close of every open connection; new connections are closed too until restore(). */
  close(): void;
  restore(): void;
  stop(): Promise<void>;
}

/**
 * One direction of one connection. Chunks leave strictly in arrival order: a chunk waits for
 * those before it, whatever the fault was when each arrived (a delay lifted mid-stream must
 * not let later bytes overtake delayed ones).
 */
class Lane {
  /** Chunks not forwarded yet, with the time each may leave (Infinity: held by a black hole). */
  private readonly queue: { chunk: Buffer; at: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  bytes = 0;

  constructor(private readonly to: Socket) {}

  push(chunk: Buffer, f: Fault): void {
    if (f.kind === "none" && this.queue.length === 0) {
      this.to.write(chunk);
      return;
    }
    this.bytes += chunk.length;
    this.queue.push({ chunk, at: f.kind === "blackhole" ? Number.POSITIVE_INFINITY : Date.now() + (f.kind === "delay" ? f.ms : 0) });
    this.drain();
  }

  /** Lets held chunks go (in order, each after what is ahead of it). */
  release(): void {
    const now = Date.now();
    for (const q of this.queue) if (q.at === Number.POSITIVE_INFINITY) q.at = now;
    this.drain();
  }

  private drain(): void {
    if (this.timer) return;
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const q = this.queue.shift()!;
      this.bytes -= q.chunk.length;
      if (!this.to.destroyed) this.to.write(q.chunk);
    }
    const head = this.queue[0];
    if (head && head.at !== Number.POSITIVE_INFINITY) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, head.at - now);
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.bytes = 0;
  }
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly toUpstream: Lane;
  readonly toClient: Lane;
}

function parseTarget(target: string): { host: string; port: number } {
  const i = target.lastIndexOf(":");
  const host = target.slice(0, i);
  const port = Number(target.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`fault proxy: target must be host:port, got ${target}`);
  if (host !== "127.0.0.1" && host !== "localhost" && host !== "::1") throw new Error(`fault proxy: target must be on loopback, got ${host}`);
  return { host, port };
}

export async function startFaultProxy(o: FaultProxyOptions): Promise<FaultProxy> {
  const target = parseTarget(o.target);
  let fault: Fault = { kind: "none" };
  let accepted = 0;
  const pairs = new Set<Pair>();
  // Every accepted socket, also those closed on arrival (a peer may keep its half open).
  const sockets = new Set<Socket>();

  const destroy = (p: Pair, rst: boolean) => {
    pairs.delete(p);
    p.toUpstream.stop();
    p.toClient.stop();
    for (const s of [p.client, p.upstream]) {
      if (s.destroyed) continue;
      if (rst) s.resetAndDestroy();
      else s.end();
    }
  };

  const server: Server = createServer({ noDelay: true }, (client) => {
    accepted++;
    sockets.add(client);
    client.once("close", () => sockets.delete(client));
    if (fault.kind === "reset") {
      client.resetAndDestroy();
      return;
    }
    if (fault.kind === "close") {
      client.end();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    const p: Pair = { client, upstream, toUpstream: new Lane(upstream), toClient: new Lane(client) };
    pairs.add(p);
    client.on("data", (d: Buffer) => p.toUpstream.push(d, fault));
    upstream.on("data", (d: Buffer) => p.toClient.push(d, fault));
    // One side gone: the other goes the same way (RST for an error, FIN for an end).
    const onGone = (rst: boolean) => () => {
      if (!pairs.has(p)) return;
      destroy(p, rst);
    };
    client.on("error", onGone(true));
    upstream.on("error", onGone(true));
    client.on("end", onGone(false));
    upstream.on("end", onGone(false));
    client.on("close", onGone(false));
    upstream.on("close", onGone(false));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    address: `127.0.0.1:${String(port)}`,
    port,
    get connections() {
      return pairs.size;
    },
    get queuedBytes() {
      let n = 0;
      for (const p of pairs) n += p.toUpstream.bytes + p.toClient.bytes;
      return n;
    },
    get accepted() {
      return accepted;
    },
    get fault() {
      return fault;
    },
    delay(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`fault proxy: delay must be >= 0 ms, got ${String(ms)}`);
      fault = { kind: "delay", ms };
    },
    blackhole() {
      fault = { kind: "blackhole" };
    },
    reset() {
      fault = { kind: "reset" };
      for (const p of [...pairs]) destroy(p, true);
    },
    close() {
      fault = { kind: "close" };
      for (const p of [...pairs]) destroy(p, false);
    },
    restore() {
      fault = { kind: "none" };
      for (const p of pairs) {
        p.toUpstream.release();
        p.toClient.release();
      }
    },
    async stop() {
      for (const p of [...pairs]) destroy(p, true);
      for (const c of sockets) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
