/**
 * The gRPC server side of the protobuf-es <-> grpc-js glue: a typed implementation per
 * generated service descriptor, request parsing that answers INVALID_ARGUMENT, a default
 * deadline, a message size limit, error mapping, metrics and the standard health service.
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { AppError } from "@switchboard/model";
import type { Logger } from "@switchboard/log";
import type { MetricsRegistry } from "@switchboard/metrics";
import type { CallContext } from "./context.js";
import { asBuffer, passthrough } from "./bytes.js";
import { grpcStatusOf, toServiceError } from "./errors.js";
import { widenServerWindows } from "./flow-control.js";
import { createHealthService, type HealthService } from "./health.js";
import { addReflectionService } from "./reflection.js";

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
  ) => Promise<MessageInitShape<T[K]["output"]> | EncodedResponse<T[K]["output"]>>;
};

/** The implementation type of a generated service descriptor: `ImplOf<typeof PostsService>`. */
export type ImplOf<S> = S extends GenService<infer T> ? ServiceImpl<T> : never;

export interface RpcServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Inbound and outbound limit; larger requests fail with RESOURCE_EXHAUSTED. */
  readonly maxMessageBytes: number;
  /** Applied to calls that arrive without a deadline. */
  readonly defaultDeadlineMs: number;
  /** Serve grpc.reflection.v1 (off in production unless asked for). */
  readonly reflection?: boolean;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
}

export interface RpcServer {
  add<T extends GenServiceMethods>(service: GenService<T>, impl: ServiceImpl<T>): void;
  readonly health: HealthService;
  /** Binds and starts; resolves to the bound port. */
  start(): Promise<number>;
  /** Stops accepting calls, lets running calls finish until the deadline, then cancels them. */
  stop(graceMs: number): Promise<void>;
}

export function createRpcServer(o: RpcServerOptions): RpcServer {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": o.maxMessageBytes,
    "grpc.max_send_message_length": o.maxMessageBytes,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 10_000,
    // Channelz keeps per-call counters and trace entries nobody reads here.
    "grpc.enable_channelz": 0,
  });
  const health = createHealthService();
  const services: GenService<GenServiceMethods>[] = [];
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
  let stopped: Promise<void> | undefined;

  function unaryHandler(method: DescMethod, fn: (req: never, ctx: CallContext) => Promise<unknown>): grpc.handleUnaryCall<Buffer, Buffer> {
    const fullName = `${method.parent.typeName}/${method.name}`;
    const log = o.logger.child({ rpc: fullName });
    return (call, callback) => {
      const started = process.hrtime.bigint();
      const ac = new AbortController();
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: Partial<grpc.ServiceError> | null, value?: Buffer): void => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        const code = err ? (err.code ?? grpc.status.UNKNOWN) : grpc.status.OK;
        handled?.inc({ method: fullName, code: grpc.status[code] ?? String(code) });
        latency?.observe(Number(process.hrtime.bigint() - started) / 1e9, { method: fullName });
        callback(err, value);
      };
      call.on("cancelled", () => {
        // grpc-js also emits "cancelled" once a call has completed normally: nothing to abort.
        if (done) return;
        ac.abort(new AppError("unavailable", "call cancelled"));
        done = true;
        if (timer) clearTimeout(timer);
      });

      const clientDeadline = call.getDeadline();
      const clientMs = clientDeadline instanceof Date ? clientDeadline.getTime() : Number(clientDeadline);
      let deadline = clientMs;
      if (!Number.isFinite(clientMs)) {
        deadline = Date.now() + o.defaultDeadlineMs;
        timer = setTimeout(() => {
          const e = new AppError(
            "deadline_exceeded",
            `no deadline was set; the server's default of ${o.defaultDeadlineMs} ms passed`,
            "api.context.deadline_exceeded.app_error",
          );
          ac.abort(e);
          finish(toServiceError(e));
        }, o.defaultDeadlineMs);
      }

      let req: unknown;
      try {
        req = fromBinary(method.input, call.request);
      } catch {
        finish({ code: grpc.status.INVALID_ARGUMENT, details: `request is not a valid ${method.input.typeName}` });
        return;
      }
      const ctx: CallContext = {
        method: fullName,
        metadata: (key) => {
          const v = call.metadata.get(key);
          return v.length > 0 ? String(v[0]) : undefined;
        },
        bearerToken() {
          const h = this.metadata("authorization");
          const m = h ? /^bearer\s+(\S+)$/i.exec(h.trim()) : null;
          return m ? m[1] : undefined;
        },
        deadline,
        signal: ac.signal,
        peer: call.getPeer(),
      };
      fn(req as never, ctx).then(
        (res) => {
          try {
            const bytes = res instanceof EncodedResponse ? res.bytes : toBinary(method.output, create(method.output as DescMessage, res as never));
            finish(null, asBuffer(bytes));
          } catch (e: unknown) {
            log.error({ err: e }, "response serialization failed");
            finish(toServiceError(AppError.from(e)));
          }
        },
        (e: unknown) => {
          const err = AppError.from(e);
          if (err.code === "internal") log.error({ err: e }, "call failed");
          else log.debug({ code: err.code, id: err.id }, "call rejected");
          finish(toServiceError(err));
        },
      );
    };
  }

  return {
    health,
    add(service, impl) {
      const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
      const handlers: grpc.UntypedServiceImplementation = {};
      for (const method of service.methods) {
        if (method.methodKind !== "unary") throw new Error(`${method.name}: only unary methods are supported`);
        const fn = (impl as Record<string, (req: never, ctx: CallContext) => Promise<unknown>>)[method.localName];
        if (typeof fn !== "function") throw new Error(`${service.typeName}.${method.name} is not implemented`);
        definition[method.name] = {
          path: `/${service.typeName}/${method.name}`,
          requestStream: false,
          responseStream: false,
          requestSerialize: passthrough,
          requestDeserialize: passthrough,
          responseSerialize: passthrough,
          responseDeserialize: passthrough,
        };
        handlers[method.name] = unaryHandler(method, fn.bind(impl));
      }
      server.addService(definition, handlers);
      services.push(service as GenService<GenServiceMethods>);
      health.register(service.typeName);
    },
    async start() {
      health.addTo(server);
      if (o.reflection) addReflectionService(server, services);
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(`${o.host}:${o.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
          if (err) {
            reject(err);
            return;
          }
          widenServerWindows(server, o.logger);
          resolve(port);
        });
      });
    },
    stop(graceMs) {
      stopped ??= new Promise<void>((resolve) => {
        health.shutdown();
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return stopped;
    },
  };
}

export { grpcStatusOf };
