import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@switchboard/proto/health";
import { asBuffer, passthrough } from "./bytes.js";

/**
 * grpc.health.v1: "" is the whole server. Services start NOT_SERVING and report SERVING only
 * when the app says so; shutdown flips everything to NOT_SERVING first.
 */
export interface HealthService {
  register(service: string): void;
  /** Sets every registered service (and "") to SERVING or NOT_SERVING. */
  setServing(serving: boolean): void;
  shutdown(): void;
  addTo(server: grpc.Server): void;
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
  const encode = (s: ServingStatus): Buffer => asBuffer(toBinary(HealthCheckResponseSchema, create(HealthCheckResponseSchema, { status: s })));
  const check = Health.method.check;
  const watch = Health.method.watch;

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
    addTo(server) {
      server.addService(
        {
          Check: { path: `/${Health.typeName}/${check.name}`, requestStream: false, responseStream: false, requestSerialize: passthrough, requestDeserialize: passthrough, responseSerialize: passthrough, responseDeserialize: passthrough },
          Watch: { path: `/${Health.typeName}/${watch.name}`, requestStream: false, responseStream: true, requestSerialize: passthrough, requestDeserialize: passthrough, responseSerialize: passthrough, responseDeserialize: passthrough },
        },
        {
          Check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
            let service: string;
            try {
              service = fromBinary(HealthCheckRequestSchema, call.request).service;
            } catch {
              cb({ code: grpc.status.INVALID_ARGUMENT, details: "bad health check request" });
              return;
            }
            const s = statuses.get(service);
            if (s === undefined) cb({ code: grpc.status.NOT_FOUND, details: `unknown service ${service}` });
            else cb(null, encode(s));
          },
          Watch: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
            let service = "";
            try {
              service = fromBinary(HealthCheckRequestSchema, call.request).service;
            } catch {
              call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details: "bad health check request" });
              return;
            }
            const w = { service, send: (s: ServingStatus) => call.write(encode(s)) };
            watchers.add(w);
            w.send(statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN);
            call.on("cancelled", () => watchers.delete(w));
            call.on("close", () => watchers.delete(w));
          },
        },
      );
    },
  };
}
