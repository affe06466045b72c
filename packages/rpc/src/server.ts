/**
 * The gRPC server side of the glue: a typed implementation per generated protobuf-es service
 * descriptor, served over our own HTTP/2 (h2/connection.ts) on a plain TCP listener: request
 * parsing that answers INVALID_ARGUMENT, a default deadline, a message size limit, error
 * mapping, metrics, the standard health service and (when asked) reflection.
 */
import { createServer, type Server, type Socket } from "node:net";
import { status as Status } from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { AppError } from "@switchboard/model";
import type { Logger } from "@switchboard/log";
import type { MetricsRegistry } from "@switchboard/metrics";
import { GrpcCall, headerBlock, parseGrpcTimeout, type CallStatus, type MethodHandler } from "./call.js";
import { ServerCallContext } from "./call-context.js";
import type { CallContext } from "./context.js";
import { DeadlineSweeper } from "./deadlines.js";
import { toCallStatus } from "./errors.js";
import { FLOW_CONTROL_WINDOW_BYTES } from "./flow-control.js";
import { H2Connection, type ServerStream } from "./h2/connection.js";
import { createHealthService, type HealthService } from "./health.js";
import { MessageWriter } from "./message-writer.js";
import { reflectionMethods } from "./reflection.js";

type UnaryMethods<T extends GenServiceMethods> = {
  [K in keyof T as T[K]["methodKind"] extends "unary" ? K : never]: T[K];
};

/**
 * A response already in protobuf wire form, for hot paths that keep their answers encoded
 * (the bytes must be a valid encoding of the method's output message; nothing checks them).
 */
export class EncodedResponse<Desc extends DescMessage = DescMessage> {
  declare readonly desc?: Desc;
  constructor(readonly bytes: Uint8Array) {}
}

/** A typed implementation of a generated service's unary methods. */
export type ServiceImpl<T extends GenServiceMethods> = {
  [K in keyof UnaryMethods<T>]: (
    req: MessageShape<T[K]["input"]>,
    ctx: CallContext,
  ) => Promise<MessageInitShape<T[K]["output"]> | EncodedResponse<T[K]["output"]> | MessageWriter<T[K]["output"]>>;
};

/** The implementation type of a generated service descriptor: `ImplOf<typeof PostsService>`. */
export type ImplOf<S> = S extends GenService<infer T> ? ServiceImpl<T> : never;

export interface RpcServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Inbound and outbound limit; larger messages fail with RESOURCE_EXHAUSTED. */
  readonly maxMessageBytes: number;
  /** Applied to calls that arrive without a deadline. */
  readonly defaultDeadlineMs: number;
  /** Serve grpc.reflection.v1 (off in production unless asked for). */
  readonly reflection?: boolean;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
}

/**
 * Request decoders that replace protobuf-es's for some methods of a service, for hot paths.
 * Each must give the same message fromBinary gives for every input it accepts, and throw
 * (answered INVALID_ARGUMENT) where fromBinary throws.
 */
export type RequestDecoders<T extends GenServiceMethods> = {
  [K in keyof UnaryMethods<T>]?: (bytes: Uint8Array) => MessageShape<T[K]["input"]>;
};

export interface RpcServer {
  add<T extends GenServiceMethods>(service: GenService<T>, impl: ServiceImpl<T>, decoders?: RequestDecoders<T>): void;
  readonly health: HealthService;
  /** Binds and starts; resolves to the bound port. */
  start(): Promise<number>;
  /** Stops accepting calls, lets running calls finish until the deadline, then cancels them. */
  stop(graceMs: number): Promise<void>;
}

/** HTTP/2 limits of every connection (h2/connection.ts). */
const MAX_CONCURRENT_STREAMS = 4_096;
const MAX_HEADER_LIST_BYTES = 16 << 10;
const KEEPALIVE_MS = 30_000;
const KEEPALIVE_TIMEOUT_MS = 10_000;
const MIN_PING_INTERVAL_MS = 10_000;
/** How late past its deadline a call may be cut off (deadlines.ts). */
const DEADLINE_RESOLUTION_MS = 20;

const NOT_POST = headerBlock([[":status", "405"]]);
const NOT_GRPC = headerBlock([[":status", "415"]]);

export function createRpcServer(o: RpcServerOptions): RpcServer {
  const methods = new Map<string, MethodHandler>();
  const health = createHealthService();
  const services: GenService<GenServiceMethods>[] = [];
  const connections = new Set<H2Connection>();
  const deadlines = new DeadlineSweeper(DEADLINE_RESOLUTION_MS);
  let listener: Server | undefined;
  let stopped: Promise<void> | undefined;
  /** Set by stop(): called when the last connection has closed. */
  let drained: (() => void) | undefined;
  const handled = o.metrics?.counter({
    name: "sb_rpc_server_handled_total",
    help: "gRPC calls completed, by method and status code",
    labelNames: ["method", "code"],
  });
  const latency = o.metrics?.histogram({
    name: "sb_rpc_server_handling_seconds",
    help: "gRPC call handling time",
    labelNames: ["method"],
  });

  function unaryMethod(method: DescMethod, fn: (req: never, ctx: CallContext) => Promise<unknown>, decoder?: (bytes: Uint8Array) => unknown): MethodHandler {
    const decode = decoder ?? ((bytes: Uint8Array): unknown => fromBinary(method.input, bytes));
    const fullName = `${method.parent.typeName}/${method.name}`;
    const log = o.logger.child({ rpc: fullName });
    const codeLabel = (c: Status): string => Status[c] ?? String(c);
    return {
      singleRequest: true,
      handle(call, request) {
        const started = performance.now();
        const byDefault = !Number.isFinite(call.deadline);
        const deadline = byDefault ? Date.now() + o.defaultDeadlineMs : call.deadline;
        const ctx = new ServerCallContext(call, fullName, deadline);
        const expiry = {
          deadline,
          slot: -1,
          expire() {
            const e = byDefault
              ? new AppError("deadline_exceeded", `no deadline was set; the server's default of ${o.defaultDeadlineMs} ms passed`, "api.context.deadline_exceeded.app_error")
              : new AppError("deadline_exceeded", "Deadline exceeded", "api.context.deadline_exceeded.app_error");
            ctx.abort(e);
            finish(toCallStatus(e));
          },
        };
        const finish = (s: CallStatus): void => {
          if (call.isDone) return;
          deadlines.delete(expiry);
          handled?.inc({ method: fullName, code: codeLabel(s.code) });
          latency?.observe((performance.now() - started) / 1e3, { method: fullName });
          call.finish(s);
        };
        deadlines.add(expiry);
        call.onCancel = () => {
          // The caller went away (RST_STREAM or a lost connection): nobody to answer.
          deadlines.delete(expiry);
          ctx.abort(new AppError("unavailable", "call cancelled"));
        };

        let req: unknown;
        try {
          req = decode(request!);
        } catch {
          finish({ code: Status.INVALID_ARGUMENT, details: `request is not a valid ${method.input.typeName}` });
          return;
        }
        fn(req as never, ctx).then(
          (res) => {
            if (call.isDone) return;
            let answer: Uint8Array | MessageWriter;
            try {
              answer = res instanceof EncodedResponse ? res.bytes : res instanceof MessageWriter ? res : toBinary(method.output, create(method.output, res as never));
            } catch (e: unknown) {
              log.error({ err: e }, "response serialization failed");
              finish(toCallStatus(AppError.from(e)));
              return;
            }
            if (answer.length > o.maxMessageBytes) {
              log.error({ bytes: answer.length, limit: o.maxMessageBytes }, "response larger than the message limit");
              finish({ code: Status.RESOURCE_EXHAUSTED, details: `the response of ${answer.length} bytes exceeds the limit of ${o.maxMessageBytes}` });
              return;
            }
            if (answer instanceof MessageWriter) {
              try {
                call.sendWith(answer);
              } catch (e: unknown) {
                log.error({ err: e }, "response writer failed");
                finish(toCallStatus(AppError.from(e)));
                return;
              }
            } else {
              call.send(answer);
            }
            finish({ code: Status.OK });
          },
          (e: unknown) => {
            const err = AppError.from(e);
            if (err.code === "internal") log.error({ err: e }, "call failed");
            else log.debug({ code: err.code, id: err.id }, "call rejected");
            finish(toCallStatus(err));
          },
        );
      },
    };
  }

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
      return call.finish({ code: Status.UNIMPLEMENTED, details: `grpc-encoding ${encoding} is not supported`, metadata: [["grpc-accept-encoding", "identity"]] });
    }
    const m = methods.get(path);
    if (m === undefined) return call.finish({ code: Status.UNIMPLEMENTED, details: `The server does not implement the method ${path}` });
    if (!m.singleRequest) return m.handle(call, undefined);
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
      keepaliveMs: KEEPALIVE_MS,
      keepaliveTimeoutMs: KEEPALIVE_TIMEOUT_MS,
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
    health,
    add(service, impl, decoders) {
      for (const method of service.methods) {
        if (method.methodKind !== "unary") throw new Error(`${method.name}: only unary methods are supported`);
        const fn = (impl as Record<string, (req: never, ctx: CallContext) => Promise<unknown>>)[method.localName];
        if (typeof fn !== "function") throw new Error(`${service.typeName}.${method.name} is not implemented`);
        const decoder = (decoders as Record<string, ((bytes: Uint8Array) => unknown) | undefined> | undefined)?.[method.localName];
        methods.set(`/${service.typeName}/${method.name}`, unaryMethod(method, fn.bind(impl), decoder));
      }
      services.push(service);
      health.register(service.typeName);
    },
    async start() {
      for (const [path, h] of health.methods()) methods.set(path, h);
      if (o.reflection) for (const [path, h] of reflectionMethods(services)) methods.set(path, h);
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
        health.shutdown();
        listener?.close();
        for (const c of [...connections]) c.goaway();
        if (connections.size === 0) drained();
      });
      return stopped;
    },
  };
}

