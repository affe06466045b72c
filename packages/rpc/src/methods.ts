/**
 * What both gRPC servers (h2-server.ts, grpc-js-server.ts) run: the typed implementations of
 * generated protobuf-es services as method handlers on a ServerCall, with request parsing that
 * answers INVALID_ARGUMENT, a default deadline, the outbound message limit, error mapping,
 * metrics, the standard health service and (when asked) reflection.
 */
import { status as Status } from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMethod, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { AppError, newId } from "@switchboard/model";
import type { Logger } from "@switchboard/log";
import type { MetricsRegistry } from "@switchboard/metrics";
import type { CallStatus, MethodHandler } from "./call.js";
import { ServerCallContext } from "./call-context.js";
import type { CallContext } from "./context.js";
import { DeadlineSweeper } from "./deadlines.js";
import { ERROR_ID_KEY, toCallStatus } from "./errors.js";
import { createHealthService, type HealthService } from "./health.js";
import { EncodedResponse, MessageWriter } from "./message-writer.js";
import { reflectionMethods } from "./reflection.js";

type UnaryMethods<T extends GenServiceMethods> = {
  [K in keyof T as T[K]["methodKind"] extends "unary" ? K : never]: T[K];
};

/** A typed implementation of a generated service's unary methods. */
export type ServiceImpl<T extends GenServiceMethods> = {
  [K in keyof UnaryMethods<T>]: (
    req: MessageShape<T[K]["input"]>,
    ctx: CallContext,
  ) => Promise<MessageInitShape<T[K]["output"]> | EncodedResponse<T[K]["output"]> | MessageWriter<T[K]["output"]>>;
};

/** The implementation type of a generated service descriptor: `ImplOf<typeof PostsService>`. */
export type ImplOf<S> = S extends GenService<infer T> ? ServiceImpl<T> : never;

/**
 * Request decoders that replace protobuf-es's for some methods of a service, for hot paths.
 * Each must give the same message fromBinary gives for every input it accepts, and throw
 * (answered INVALID_ARGUMENT) where fromBinary throws.
 */
export type RequestDecoders<T extends GenServiceMethods> = {
  [K in keyof UnaryMethods<T>]?: (bytes: Uint8Array) => MessageShape<T[K]["input"]>;
};

export interface MethodTableOptions {
  readonly maxMessageBytes: number;
  readonly defaultDeadlineMs: number;
  readonly reflection: boolean;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry | undefined;
}

/** The methods a server serves, by path ("/sb.posts.v1.PostsService/CreatePost"). */
export interface MethodTable {
  readonly health: HealthService;
  add<T extends GenServiceMethods>(service: GenService<T>, impl: ServiceImpl<T>, decoders?: RequestDecoders<T>): void;
  /** Every method, health and (when asked) reflection included; called once, at start. */
  all(): Map<string, MethodHandler>;
}

/** How late past its deadline a call may be cut off (deadlines.ts). */
const DEADLINE_RESOLUTION_MS = 20;

export function createMethodTable(o: MethodTableOptions): MethodTable {
  const methods = new Map<string, MethodHandler>();
  const health = createHealthService();
  const services: GenService<GenServiceMethods>[] = [];
  const deadlines = new DeadlineSweeper(DEADLINE_RESOLUTION_MS);
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
      kind: "unary",
      handle(call, request) {
        const started = performance.now();
        const finite = Number.isFinite(call.deadline);
        const byDefault = call.deadlineByDefault === true || !finite;
        const deadline = finite ? call.deadline : Date.now() + o.defaultDeadlineMs;
        const ctx = new ServerCallContext(call, fullName, deadline);
        const expiry = {
          deadline,
          slot: -1,
          expire() {
            const e = byDefault
              ? new AppError(
                  "deadline_exceeded",
                  `no deadline was set; the server's default of ${o.defaultDeadlineMs} ms passed`,
                  "api.context.deadline_exceeded.app_error",
                )
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
          finish({
            code: Status.INVALID_ARGUMENT,
            details: `request is not a valid ${method.input.typeName}`,
            metadata: [[ERROR_ID_KEY, "rpc.invalid_argument"]],
          });
          call.release?.();
          return;
        }
        // The call counts against its connection's limits until the method's promise settles,
        // also when it was answered (deadline) or cancelled before: release() in both callbacks.
        fn(req as never, ctx).then(
          (res) => {
            call.release?.();
            if (call.isDone) return;
            let answer: Uint8Array | MessageWriter;
            try {
              answer =
                res instanceof EncodedResponse ? res.bytes : res instanceof MessageWriter ? res : toBinary(method.output, create(method.output, res as never));
            } catch (e: unknown) {
              log.error({ err: e }, "response serialization failed");
              finish(toCallStatus(AppError.from(e)));
              return;
            }
            if (answer.length > o.maxMessageBytes) {
              log.error({ bytes: answer.length, limit: o.maxMessageBytes }, "response larger than the message limit");
              finish({
                code: Status.RESOURCE_EXHAUSTED,
                details: `the response of ${answer.length} bytes exceeds the limit of ${o.maxMessageBytes}`,
                metadata: [[ERROR_ID_KEY, "rpc.resource_exhausted"]],
              });
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
            call.release?.();
            const err = AppError.from(e);
            if (err.code === "internal") {
              // The detail stays here, under an id the caller also gets.
              const requestId = newId();
              log.error({ err: e, request_id: requestId }, "call failed");
              finish(toCallStatus(err, requestId));
              return;
            }
            log.debug({ code: err.code, id: err.id }, "call rejected");
            finish(toCallStatus(err));
          },
        );
      },
    };
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
    all() {
      for (const [path, h] of health.methods()) methods.set(path, h);
      if (o.reflection) for (const [path, h] of reflectionMethods(services)) methods.set(path, h);
      return methods;
    },
  };
}
