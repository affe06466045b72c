/**
 * The gRPC server on our own HTTP/2 (h2/connection.ts) on a plain TCP listener: one of the two
 * implementations of RpcServer (server.ts).
 */
import { createServer, type Server, type Socket } from "node:net";
import { status as Status } from "@grpc/grpc-js";
import { GrpcCall, headerBlock, parseGrpcTimeout, type MethodHandler } from "./call.js";
import { FLOW_CONTROL_WINDOW_BYTES } from "./flow-control.js";
import { H2Connection, type ServerStream } from "./h2/connection.js";
import type { MethodTable } from "./methods.js";
import type { ResolvedServerOptions, RpcServer } from "./server-seam.js";

/** HTTP/2 limits of every connection (h2/connection.ts). */
const MAX_CONCURRENT_STREAMS = 4_096;
const MAX_HEADER_LIST_BYTES = 16 << 10;
const MIN_PING_INTERVAL_MS = 10_000;

const NOT_POST = headerBlock([[":status", "405"]]);
const NOT_GRPC = headerBlock([[":status", "415"]]);

export function createH2Server(o: ResolvedServerOptions, table: MethodTable): RpcServer {
  let methods = new Map<string, MethodHandler>();
  const connections = new Set<H2Connection>();
  let listener: Server | undefined;
  let stopped: Promise<void> | undefined;
  /** Set by stop(): called when the last connection has closed. */
  let drained: (() => void) | undefined;

  /** A new request stream: checks what HTTP/2 and gRPC require, then hands it to its method. */
  function onStream(stream: ServerStream): void {
    if (stream.headerListTooLarge) {
      new GrpcCall(stream, "", o.maxMessageBytes, undefined).finish({ code: Status.RESOURCE_EXHAUSTED, details: "request metadata too large" });
      return;
    }
    if (stream.header(":method") !== "POST") return stream.respond(NOT_POST, true);
    if (!stream.header("content-type")?.startsWith("application/grpc")) return stream.respond(NOT_GRPC, true);
    const path = stream.header(":path") ?? "";
    const timeoutMs = parseGrpcTimeout(stream.header("grpc-timeout"));
    const call = new GrpcCall(stream, path, o.maxMessageBytes, Number.isNaN(timeoutMs) ? undefined : timeoutMs);
    if (Number.isNaN(timeoutMs)) return call.finish({ code: Status.INTERNAL, details: `invalid grpc-timeout: ${stream.header("grpc-timeout") ?? ""}` });
    const encoding = stream.header("grpc-encoding");
    if (encoding !== undefined && encoding !== "identity") {
      return call.finish({
        code: Status.UNIMPLEMENTED,
        details: `grpc-encoding ${encoding} is not supported`,
        metadata: [["grpc-accept-encoding", "identity"]],
      });
    }
    const m = methods.get(path);
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

  function onConnection(socket: Socket): void {
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
      onStream,
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
    add: (service, impl, decoders) => table.add(service, impl, decoders),
    async start() {
      methods = table.all();
      const server = createServer({ noDelay: true }, onConnection);
      listener = server;
      return new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(o.port, o.host, () => {
          server.off("error", reject);
          server.on("error", (e) => o.logger.error({ err: e }, "gRPC listener failed"));
          const a = server.address();
          resolve(typeof a === "object" && a ? a.port : o.port);
        });
      });
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
        listener?.close();
        for (const c of [...connections]) c.goaway();
        if (connections.size === 0) drained();
      });
      return stopped;
    },
  };
}
