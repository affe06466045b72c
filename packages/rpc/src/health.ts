import { status as Status } from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Health, HealthCheckRequestSchema, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus as ServingStatus } from "@switchboard/proto/health";
import type { MethodHandler, ServerCall } from "./call.js";

/**
 * grpc.health.v1: "" is the whole server. Services start NOT_SERVING and report SERVING only
 * when the app says so; shutdown flips everything to NOT_SERVING first.
 */
export interface HealthService {
  register(service: string): void;
  /** Sets every registered service (and "") to SERVING or NOT_SERVING. */
  setServing(serving: boolean): void;
  shutdown(): void;
  /** Check and Watch, by path, for the server to serve. */
  methods(): [string, MethodHandler][];
}

export function createHealthService(): HealthService {
  const statuses = new Map<string, ServingStatus>([["", ServingStatus.NOT_SERVING]]);
  const watchers = new Set<{ service: string; send: (s: ServingStatus) => void }>();
  let shut = false;
  const set = (service: string, s: ServingStatus): void => {
    if (statuses.get(service) === s) return;
    statuses.set(service, s);
    for (const w of watchers) if (w.service === service) w.send(s);
  };
  const encode = (s: ServingStatus): Uint8Array => toBinary(HealthCheckResponseSchema, create(HealthCheckResponseSchema, { status: s }));
  const serviceOf = (call: ServerCall, request: Buffer | undefined): string | undefined => {
    try {
      return fromBinary(HealthCheckRequestSchema, request!).service;
    } catch {
      call.finish({ code: Status.INVALID_ARGUMENT, details: "bad health check request" });
      return undefined;
    }
  };

  return {
    register(service) {
      statuses.set(service, ServingStatus.NOT_SERVING);
    },
    setServing(serving) {
      if (shut) return;
      for (const k of statuses.keys()) set(k, serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    },
    shutdown() {
      shut = true;
      for (const k of statuses.keys()) set(k, ServingStatus.NOT_SERVING);
    },
    methods() {
      const check: MethodHandler = {
        kind: "unary",
        handle(call, request) {
          const service = serviceOf(call, request);
          if (service === undefined) return;
          const s = statuses.get(service);
          if (s === undefined) return call.finish({ code: Status.NOT_FOUND, details: `unknown service ${service}` });
          call.send(encode(s));
          call.finish({ code: Status.OK });
        },
      };
      const watch: MethodHandler = {
        kind: "serverStream",
        handle(call, request) {
          const service = serviceOf(call, request);
          if (service === undefined) return;
          const w = { service, send: (s: ServingStatus) => call.send(encode(s)) };
          watchers.add(w);
          w.send(statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN);
          call.onCancel = () => watchers.delete(w);
        },
      };
      return [
        [`/${Health.typeName}/${Health.method.check.name}`, check],
        [`/${Health.typeName}/${Health.method.watch.name}`, watch],
      ];
    },
  };
}
