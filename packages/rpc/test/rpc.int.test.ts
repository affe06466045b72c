/**
 * The protobuf-es <-> grpc-js glue over a real loopback connection: typed calls, error mapping
 * (code, Mattermost id, safe message), the default deadline, the size limit, health and
 * reflection (off unless asked for).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { silentLogger } from "@switchboard/log";
import { AppError } from "@switchboard/model";
import { HealthCheckRequestSchema, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus as Serving } from "@switchboard/proto/health";
import { PresenceService } from "@switchboard/proto/presence";
import { ServerReflectionRequestSchema, ServerReflectionResponseSchema } from "@switchboard/proto/reflection";
import { createRpcClient, createRpcServer, type ImplOf, type RpcServer } from "../src/index.js";
import { FLOW_CONTROL_WINDOW_BYTES } from "../src/flow-control.js";

const never = () => new Promise<never>(() => {});

const impl: ImplOf<typeof PresenceService> = {
  async getStatus(req, ctx) {
    if (req.userId === "missing") throw new AppError("not_found", "Unable to find the user.", "app.user.missing_account.const");
    if (req.userId === "boom") throw new Error("database password is hunter2");
    if (req.userId === "slow") return never();
    return { status: { userId: req.userId, status: ctx.bearerToken() ?? "anonymous" } };
  },
  getStatuses: never,
  listActiveStatuses: never,
  setStatus: never,
  acquireLease: never,
  report: never,
  releaseLease: never,
};

async function serve(reflection: boolean): Promise<{ server: RpcServer; port: number }> {
  const server = createRpcServer({ host: "127.0.0.1", port: 0, maxMessageBytes: 64 * 1024, defaultDeadlineMs: 300, reflection, logger: silentLogger });
  server.add(PresenceService, impl);
  return { server, port: await server.start() };
}

function health(port: number, service: string): Promise<Serving> {
  const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) =>
    c.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (b: Buffer) => b,
      (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
      Buffer.from(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service }))),
      (e, r) => {
        c.close();
        if (e) reject(e);
        else resolve(r!.status);
      },
    ),
  );
}

function listServices(port: number): Promise<string[]> {
  const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = c.makeBidiStreamRequest(
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      (b: Buffer) => b,
      (b: Buffer) => fromBinary(ServerReflectionResponseSchema, b),
    );
    call.on("data", (r: ReturnType<typeof fromBinary<typeof ServerReflectionResponseSchema>>) => {
      c.close();
      resolve(r.messageResponse.case === "listServicesResponse" ? r.messageResponse.value.service.map((s) => s.name) : []);
    });
    call.on("error", (e: Error) => {
      c.close();
      reject(e);
    });
    call.write(Buffer.from(toBinary(ServerReflectionRequestSchema, create(ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } }))));
  });
}

let plain: { server: RpcServer; port: number };
let reflective: { server: RpcServer; port: number };

beforeAll(async () => {
  plain = await serve(false);
  reflective = await serve(true);
});

afterAll(async () => {
  await plain?.server.stop(1000);
  await reflective?.server.stop(1000);
});

describe("rpc glue", () => {
  const client = () => createRpcClient(PresenceService, { address: `127.0.0.1:${plain.port}`, defaultDeadlineMs: 5_000 });

  it("opens 1 MiB HTTP/2 flow-control windows per stream and per connection, not the default 64 KiB", async () => {
    const session = http2.connect(`http://127.0.0.1:${plain.port}`);
    try {
      await new Promise<void>((resolve, reject) => {
        session.once("remoteSettings", () => resolve());
        session.once("error", reject);
      });
      expect(session.remoteSettings.initialWindowSize).toBe(FLOW_CONTROL_WINDOW_BYTES);
      // The connection's window arrives as a WINDOW_UPDATE; a ping's answer comes after it.
      await new Promise<void>((resolve, reject) => session.ping((e) => (e ? reject(e) : resolve())));
      expect(session.state.remoteWindowSize).toBe(FLOW_CONTROL_WINDOW_BYTES);
    } finally {
      session.close();
    }
  });

  it("round-trips typed messages and forwards the bearer token", async () => {
    const c = client();
    const r = await c.getStatus({ userId: "u1" }, { token: "t0k3n" });
    expect(r.status).toMatchObject({ userId: "u1", status: "t0k3n" });
    c.close();
  });

  it("maps AppError to its gRPC code and Mattermost id, and hides internal errors", async () => {
    const c = client();
    await expect(c.getStatus({ userId: "missing" })).rejects.toMatchObject({ code: "not_found", id: "app.user.missing_account.const", message: "Unable to find the user." });
    const e = (await c.getStatus({ userId: "boom" }).catch((x: unknown) => x)) as AppError;
    expect(e.code).toBe("internal");
    expect(e.message).not.toContain("hunter2");
    c.close();
  });

  it("ends a call without a deadline at the server's default deadline", async () => {
    const raw = new grpc.Client(`127.0.0.1:${plain.port}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      raw.makeUnaryRequest("/sb.presence.v1.PresenceService/GetStatus", (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0x04, 0x73, 0x6c, 0x6f, 0x77]), (e) => resolve(e!)),
    );
    raw.close();
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(err.details).toMatch(/no deadline was set; the server's default of 300 ms passed/);
  });

  it("refuses oversized and undecodable requests with clear codes", async () => {
    const c = client();
    await expect(c.getStatus({ userId: "x".repeat(100 * 1024) })).rejects.toMatchObject({ code: "resource_exhausted" });
    const raw = new grpc.Client(`127.0.0.1:${plain.port}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      raw.makeUnaryRequest("/sb.presence.v1.PresenceService/GetStatus", (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0xff, 0xff, 0xff]), { deadline: Date.now() + 2000 }, (e) => resolve(e!)),
    );
    raw.close();
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await c.getStatus({ userId: "still-serving" })).status?.userId).toBe("still-serving");
    c.close();
  });

  it("reports NOT_SERVING until the app marks itself ready, and knows only its services", async () => {
    expect(await health(plain.port, "")).toBe(Serving.NOT_SERVING);
    plain.server.health.setServing(true);
    expect(await health(plain.port, "sb.presence.v1.PresenceService")).toBe(Serving.SERVING);
    await expect(health(plain.port, "no.such.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("serves reflection only when configured", async () => {
    await expect(listServices(plain.port)).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    expect(await listServices(reflective.port)).toEqual(expect.arrayContaining(["sb.presence.v1.PresenceService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"]));
  });
});
