/**
 * The gRPC server on our own HTTP/2 (h2/connection.ts): one of the two implementations of
 * RpcServer (server.ts). With TLS configured it listens with TLS (ALPN h2, a client
 * certificate asked of every peer; its verified workload is the caller of each call on the
 * connection, admitted by call-guard.ts), and takes up rotated files without a restart. A
 * plaintext health port, when asked for, serves grpc.health.v1 alone.
 */
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { status as Status } from "@grpc/grpc-js";
import { GrpcCall, headerBlock, parseGrpcTimeout, type MethodHandler } from "./call.js";
import { createCallGuard, type CallGuard } from "./call-guard.js";
import { FLOW_CONTROL_WINDOW_BYTES } from "./flow-control.js";
import { H2Connection, type ServerStream } from "./h2/connection.js";
import type { MethodTable } from "./methods.js";
import type { ResolvedServerOptions, RpcServer } from "./server-seam.js";
import { callerOfCertificate, healthMethods, serverIdentity } from "./server-tls.js";

/** HTTP/2 limits of every connection (h2/connection.ts). */
const MAX_CONCURRENT_STREAMS = 4_096;
const MAX_HEADER_LIST_BYTES = 16 << 10;
const MIN_PING_INTERVAL_MS = 10_000;

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
  const main: Endpoint = { methods: new Map(), guard: undefined };
  const health: Endpoint = { methods: new Map(), guard: undefined };
  /** The verified workload of each TLS connection (undefined: no valid client certificate). */
  const callers = new WeakMap<Socket, string | undefined>();
  const connections = new Set<H2Connection>();
  const listeners: Server[] = [];
  let healthPort: number | undefined;
  let stopped: Promise<void> | undefined;
  /** Set by stop(): called when the last connection has closed. */
  let drained: (() => void) | undefined;

  /** A new request stream: checks what HTTP/2 and gRPC require, then hands it to its method. */
  function onStream(this: Endpoint, stream: ServerStream): void {
    if (stream.headerListTooLarge) {
      new GrpcCall(stream, "", o.maxMessageBytes, undefined).finish({ code: Status.RESOURCE_EXHAUSTED, details: "request metadata too large" });
      return;
    }
    if (stream.header(":method") !== "POST") return stream.respond(NOT_POST, true);
    if (!stream.header("content-type")?.startsWith("application/grpc")) return stream.respond(NOT_GRPC, true);
    const path = stream.header(":path") ?? "";
    const timeoutMs = parseGrpcTimeout(stream.header("grpc-timeout"));
    const call = new GrpcCall(stream, path, o.maxMessageBytes, Number.isNaN(timeoutMs) ? undefined : timeoutMs);
    if (this.guard !== undefined) {
      const denied = this.guard(path, callers.get(stream.socket));
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
    if (m.kind === "bidi") return m.handle(call, undefined);
    let request: Buffer | undefined;
    call.onMessage = (msg) => {
      if (request === undefined) request = msg;
      else call.finish({ code: Status.INVALID_ARGUMENT, details: `${path} takes exactly one request message` });
    };
    call.onHalfClose = () => {
      if (request === undefined) call.finish({ code: Status.INVALID_ARGUMENT, details: `${path} takes exactly one request message` });
      else m.handle(call, request);
    };
  }

  function onConnection(endpoint: Endpoint, socket: Socket): void {
    if (stopped) {
      socket.destroy();
      return;
    }
    const conn = new H2Connection(socket, {
      windowBytes: FLOW_CONTROL_WINDOW_BYTES,
      maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
      maxHeaderListBytes: MAX_HEADER_LIST_BYTES,
      keepaliveMs: o.keepaliveMs,
      keepaliveTimeoutMs: o.keepaliveTimeoutMs,
      minPingIntervalMs: MIN_PING_INTERVAL_MS,
      onStream: onStream.bind(endpoint),
      onClose: (c) => {
        connections.delete(c);
        if (connections.size === 0) drained?.();
      },
    });
    connections.add(conn);
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
      health.methods = healthMethods(main.methods);
      let server: Server;
      if (identity === undefined) {
        server = createServer({ noDelay: true }, (s) => onConnection(main, s));
      } else {
        main.guard = createCallGuard(main.methods.keys());
        const { ca, cert, key } = identity.material;
        const tlsServer = createTlsServer(
          { ca, cert, key, ALPNProtocols: ["h2"], requestCert: true, rejectUnauthorized: false, noDelay: true },
          (s: TLSSocket) => {
            // A peer without a valid certificate may still connect: its calls are answered UNAUTHENTICATED.
            callers.set(s, s.authorized ? callerOfCertificate(s.getPeerCertificate()) : undefined);
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
        for (const c of [...connections]) c.goaway();
        if (connections.size === 0) drained();
      });
      return stopped;
    },
  };
}
