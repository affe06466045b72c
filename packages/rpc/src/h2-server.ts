/**
 * The gRPC server on our own HTTP/2 (h2/connection.ts): one of the two implementations of
 * RpcServer (server.ts). With TLS configured it listens with TLS (ALPN h2) and names the
 * caller of each call, admitted by call-guard.ts: with mTLS by the verified workload of the
 * client certificate asked of every peer, known per connection; in token mode by the call's
 * service token, no certificate asked for. It takes up rotated files without a restart. A
 * plaintext health port, when asked for, serves grpc.health.v1 alone.
 */
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { status as Status } from "@grpc/grpc-js";
import { GrpcCall, headerBlock, parseGrpcTimeout, type MethodHandler } from "./call.js";
import { DeadlineSweeper } from "./deadlines.js";
import { createCallGuard, type CallGuard } from "./call-guard.js";
import { FLOW_CONTROL_WINDOW_BYTES } from "./flow-control.js";
import { H2Connection, type ServerStream } from "./h2/connection.js";
import { ByteBudget, DEFAULT_H2_LIMITS, type H2Limits } from "./h2/limits.js";
import type { MethodTable } from "./methods.js";
import type { ResolvedServerOptions, RpcServer } from "./server-seam.js";
import { SERVICE_TOKEN_HEADER } from "./service-token.js";
import { callerOfCertificate, healthMethods, serverIdentity, tokenVerifier } from "./server-tls.js";

/** How often every connection's preface, header block and idle deadlines are checked. */
const TICK_MS = 500;
/** How late past its deadline a call whose request is still arriving may be cut off. */
const DEADLINE_RESOLUTION_MS = 50;

const NOT_POST = headerBlock([[":status", "405"]]);
const NOT_GRPC = headerBlock([[":status", "415"]]);

/** A listener and what it serves: every method behind the guard, or health alone in plaintext. */
interface Endpoint {
  methods: Map<string, MethodHandler>;
  guard: CallGuard | undefined;
}

function listen(server: Server, port: number, host: string, o: ResolvedServerOptions): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      server.on("error", (e) => o.logger.error({ err: e }, "gRPC listener failed"));
      const a = server.address();
      resolve(typeof a === "object" && a ? a.port : port);
    });
  });
}

export function createH2Server(o: ResolvedServerOptions, table: MethodTable): RpcServer {
  const identity = serverIdentity(o);
  const tokens = tokenVerifier(o);
  const main: Endpoint = { methods: new Map(), guard: undefined };
  const health: Endpoint = { methods: new Map(), guard: undefined };
  /** The verified workload of each TLS connection (undefined: no valid client certificate). */
  const callers = new WeakMap<Socket, string | undefined>();
  const limits: H2Limits = { ...DEFAULT_H2_LIMITS, ...o.h2Limits };
  const serverBuffer = new ByteBudget(limits.serverBufferBytes);
  const connections = new Set<H2Connection>();
  /** Connections open by peer address (the per-peer cap). */
  const perPeer = new Map<string, number>();
  /** Calls whose request is still arriving: their deadline runs from the stream's opening. */
  const arriving = new DeadlineSweeper(DEADLINE_RESOLUTION_MS);
  let ticker: NodeJS.Timeout | undefined;
  const listeners: Server[] = [];
  let healthPort: number | undefined;
  let stopped: Promise<void> | undefined;
  /** Set by stop(): called when the last connection has closed. */
  let drained: (() => void) | undefined;

  /** A new request stream: checks what HTTP/2 and gRPC require, then hands it to its method. */
  function onStream(this: Endpoint, stream: ServerStream): void {
    if (stream.headerListTooLarge) {
      new GrpcCall(stream, "", o.maxMessageBytes, undefined, o.defaultDeadlineMs).finish({
        code: Status.RESOURCE_EXHAUSTED,
        details: "request metadata too large",
      });
      return;
    }
    if (stream.header(":method") !== "POST") return stream.respond(NOT_POST, true);
    if (!stream.header("content-type")?.startsWith("application/grpc")) return stream.respond(NOT_GRPC, true);
    const path = stream.header(":path") ?? "";
    const timeoutMs = parseGrpcTimeout(stream.header("grpc-timeout"));
    const call = new GrpcCall(stream, path, o.maxMessageBytes, Number.isNaN(timeoutMs) ? undefined : timeoutMs, o.defaultDeadlineMs);
    if (this.guard !== undefined) {
      const denied = this.guard(path, tokens ? tokens(stream.header(SERVICE_TOKEN_HEADER)) : callers.get(stream.socket));
      if (denied !== undefined) return call.finish(denied);
    }
    if (Number.isNaN(timeoutMs)) return call.finish({ code: Status.INTERNAL, details: `invalid grpc-timeout: ${stream.header("grpc-timeout") ?? ""}` });
    const encoding = stream.header("grpc-encoding");
    if (encoding !== undefined && encoding !== "identity") {
      return call.finish({
        code: Status.UNIMPLEMENTED,
        details: `grpc-encoding ${encoding} is not supported`,
        metadata: [["grpc-accept-encoding", "identity"]],
      });
    }
    const m = this.methods.get(path);
    if (m === undefined) return call.finish({ code: Status.UNIMPLEMENTED, details: `The server does not implement the method ${path}` });
    if (m.kind === "bidi") {
      call.releaseEachMessage = true;
      return m.handle(call, undefined);
    }
    let request: Buffer | undefined;
    // Until the request is complete the call is ours to expire; then the method's (methods.ts).
    arriving.add(call);
    call.onCancel = () => arriving.delete(call);
    call.onMessage = (msg) => {
      if (request === undefined) request = msg;
      else call.finish({ code: Status.INVALID_ARGUMENT, details: `${path} takes exactly one request message` });
    };
    call.onHalfClose = () => {
      arriving.delete(call);
      if (call.isDone) return;
      if (request === undefined) return call.finish({ code: Status.INVALID_ARGUMENT, details: `${path} takes exactly one request message` });
      // Unary methods release the call when their promise settles (methods.ts); others hold nothing.
      if (m.kind === "unary") call.hold();
      m.handle(call, request);
    };
  }

  function onConnection(endpoint: Endpoint, socket: Socket): void {
    const peer = socket.remoteAddress ?? "";
    const fromPeer = perPeer.get(peer) ?? 0;
    // Over a cap: closed at once, before a byte is read or a buffer made for it.
    if (stopped || connections.size >= limits.maxConnections || fromPeer >= limits.maxConnectionsPerPeer) {
      socket.destroy();
      return;
    }
    perPeer.set(peer, fromPeer + 1);
    let counted = true;
    const uncount = (): void => {
      if (!counted) return;
      counted = false;
      const n = (perPeer.get(peer) ?? 1) - 1;
      if (n > 0) perPeer.set(peer, n);
      else perPeer.delete(peer);
    };
    // A connection counts until its socket is gone, not only until it stops serving.
    socket.once("close", uncount);
    const conn = new H2Connection(socket, {
      windowBytes: FLOW_CONTROL_WINDOW_BYTES,
      limits,
      serverBuffer,
      keepaliveMs: o.keepaliveMs,
      keepaliveTimeoutMs: o.keepaliveTimeoutMs,
      onStream: onStream.bind(endpoint),
      onClose: (c) => {
        connections.delete(c);
        if (connections.size === 0) drained?.();
      },
    });
    connections.add(conn);
  }

  function tick(): void {
    const now = Date.now();
    for (const c of connections) c.tick(now);
  }

  return {
    transport: "h2",
    health: table.health,
    get healthPort() {
      return healthPort;
    },
    add: (service, impl, decoders) => table.add(service, impl, decoders),
    async start() {
      main.methods = table.all();
      ticker = setInterval(tick, TICK_MS);
      ticker.unref();
      health.methods = healthMethods(main.methods);
      let server: Server;
      if (identity === undefined) {
        server = createServer({ noDelay: true }, (s) => onConnection(main, s));
      } else {
        // mTLS asks every peer for a certificate; in token mode the token names the caller and none is asked for.
        const mtls = tokens === undefined;
        main.guard = createCallGuard(main.methods.keys(), mtls ? "mtls" : "token");
        const { ca, cert, key } = identity.material;
        const tlsServer = createTlsServer(
          { ca, cert, key, ALPNProtocols: ["h2"], requestCert: mtls, rejectUnauthorized: false, noDelay: true, handshakeTimeout: limits.prefaceTimeoutMs },
          (s: TLSSocket) => {
            // A peer without a valid certificate may still connect: its calls are answered UNAUTHENTICATED.
            if (mtls) callers.set(s, s.authorized ? callerOfCertificate(s.getPeerCertificate()) : undefined);
            onConnection(main, s);
          },
        );
        tlsServer.on("tlsClientError", (e) => o.logger.debug({ err: e }, "TLS handshake failed"));
        identity.onChange((m) => {
          tlsServer.setSecureContext({ ca: m.ca, cert: m.cert, key: m.key });
          o.logger.info({ cert: identity.files.certFile }, "TLS files reloaded");
        });
        server = tlsServer;
      }
      listeners.push(server);
      const port = await listen(server, o.port, o.host, o);
      if (o.healthPort !== undefined) {
        const hs = createServer({ noDelay: true }, (s) => onConnection(health, s));
        listeners.push(hs);
        healthPort = await listen(hs, o.healthPort, o.host, o);
      }
      return port;
    },
    stop(graceMs) {
      stopped ??= new Promise<void>((resolve) => {
        // Each connection closes itself once its streams are done (GOAWAY); the last one ends the stop.
        const force = setTimeout(() => {
          for (const c of connections) c.destroy();
        }, graceMs);
        force.unref();
        drained = () => {
          clearTimeout(force);
          resolve();
        };
        table.health.shutdown();
        identity?.close();
        for (const l of listeners) l.close();
        if (ticker) clearInterval(ticker);
        for (const c of [...connections]) c.goaway();
        if (connections.size === 0) drained();
      });
      return stopped;
    },
  };
}
