/**
 * Both gRPC server implementations (our own HTTP/2 and @grpc/grpc-js's Server) over real
 * loopback connections, the same tests on each: typed calls and metadata, error mapping
 * (code, Mattermost id, safe message), deadlines (the caller's and the server's default),
 * cancellation, size limits, pre-encoded answers, metrics, health, reflection (off unless
 * asked for), keepalive and graceful stop.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as http2 from "node:http2";
import { connect, createServer } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { silentLogger } from "@switchboard/log";
import { createMetricsRegistry, type MetricsRegistry } from "@switchboard/metrics";
import { AppError } from "@switchboard/model";
import { HealthCheckRequestSchema, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus as Serving } from "@switchboard/proto/health";
import { PresenceService } from "@switchboard/proto/presence";
import {
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "@switchboard/proto/reflection";
import {
  createRpcClient,
  createRpcServer,
  EncodedResponse,
  RPC_SERVER_TRANSPORTS,
  type ImplOf,
  type RpcServer,
  type RpcServerOptions,
  type RpcServerTransport,
} from "../src/index.js";
import { PREFACE, SETTINGS, raw } from "./wire.js";
import { BIG_STATUSES, BytesWriter, bigAnswer, never, taggedAnswer } from "./answers.js";

const LIMIT = 64 * 1024;
const ROOMY = 8 << 20;

/** What handlers saw, for the tests to check. */
const seen = { aborts: [] as unknown[], awaiting: 0, slowDone: 0 };
/** The "slow" handler holds its call until the test releases it. */
const slow = { entered: 0, release: (): void => undefined };

const impl: ImplOf<typeof PresenceService> = {
  async getStatus(req, ctx) {
    switch (req.userId) {
      case "missing":
        throw new AppError("not_found", "Unable to find the user.", "app.user.missing_account.const");
      case "boom":
        throw new Error("database password is hunter2");
      case "unicode":
        throw new AppError("not_found", "Ünïcode 100% sure\nnew line", "app.test.unicode");
      case "hang":
        return never();
      case "wait-for-abort":
        // Resolves nothing: the call ends by its deadline or the caller's cancel; the reason is kept.
        seen.awaiting++;
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
        seen.aborts.push(ctx.signal.reason);
        return never();
      case "slow":
        await new Promise<void>((resolve) => {
          slow.release = resolve;
          slow.entered++;
        });
        seen.slowDone++;
        break;
      case "context":
        // The metadata, the deadline left and the caller's address, as the status.
        return { status: { userId: ctx.metadata("x-sb-test") ?? "", status: `${Math.round((ctx.deadline - Date.now()) / 1000)}s ${ctx.peer}` } };
    }
    return { status: { userId: req.userId, status: ctx.bearerToken() ?? "anonymous" } };
  },
  // The request's size comes back as the count of statuses asked for; "big" asks for a large answer;
  // "writer", tag, n: n statuses "tag-i" written in place (MessageWriter); "bad-writer": one that miscounts.
  async getStatuses(req) {
    if (req.userIds[0] === "big") return new EncodedResponse(bigAnswer);
    if (req.userIds[0] === "writer") return new BytesWriter(taggedAnswer(req.userIds[1]!, Number(req.userIds[2])));
    if (req.userIds[0] === "bad-writer") return new BytesWriter(taggedAnswer("x", 10), 3);
    return { statuses: [{ userId: String(req.userIds.length), status: "online" }] };
  },
  listActiveStatuses: never,
  setStatus: never,
  acquireLease: never,
  report: never,
  releaseLease: never,
};

interface Served {
  server: RpcServer;
  port: number;
  metrics: MetricsRegistry;
}

async function serve(transport: RpcServerTransport, o: Partial<RpcServerOptions> = {}): Promise<Served> {
  const metrics = createMetricsRegistry({ collectDefault: false });
  const server = createRpcServer({
    transport,
    host: "127.0.0.1",
    port: 0,
    maxMessageBytes: LIMIT,
    defaultDeadlineMs: 300,
    logger: silentLogger,
    metrics,
    ...o,
  });
  server.add(PresenceService, impl);
  return { server, port: await server.start(), metrics };
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

/** One reflection request on its own stream; the first answer. */
function reflect(port: number, messageRequest: ServerReflectionRequest["messageRequest"]): Promise<ServerReflectionResponse> {
  const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = c.makeBidiStreamRequest(
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      (b: Buffer) => b,
      (b: Buffer) => fromBinary(ServerReflectionResponseSchema, b),
    );
    call.on("data", (r: ServerReflectionResponse) => {
      call.end();
      c.close();
      resolve(r);
    });
    call.on("error", (e: Error) => {
      c.close();
      reject(e);
    });
    call.write(Buffer.from(toBinary(ServerReflectionRequestSchema, create(ServerReflectionRequestSchema, { messageRequest }))));
  });
}

/** A call on a raw grpc-js client: the error, with the bytes as given. */
/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function rawCall(port: number, path: string, body: Buffer, deadlineMs?: number): Promise<grpc.ServiceError> {
  const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const opts = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  return new Promise<grpc.ServiceError>((resolve) =>
    c.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      new grpc.Metadata(),
      opts,
      (e) => {
        c.close();
        resolve(e!);
      },
    ),
  );
}

describe.each(RPC_SERVER_TRANSPORTS)("gRPC server on %s", (transport) => {
  let limited: Served;
  let roomy: Served;

  beforeAll(async () => {
    limited = await serve(transport);
    roomy = await serve(transport, { maxMessageBytes: ROOMY, defaultDeadlineMs: 5_000, reflection: true });
  });

  afterAll(async () => {
    await limited?.server.stop(1_000);
    await roomy?.server.stop(1_000);
  });

  // A generous deadline: the multi-MiB answers took 3 s alone and passed 10 s with other files loading the machine.
  const client = (s: Served) => createRpcClient(PresenceService, { address: `127.0.0.1:${s.port}`, defaultDeadlineMs: 30_000, maxMessageBytes: ROOMY });

  it("is the implementation asked for", () => {
    expect(limited.server.transport).toBe(transport);
  });

  it("round-trips typed messages and hands the handler the bearer token, metadata, deadline and peer", async () => {
    const c = client(limited);
    const r = await c.getStatus({ userId: "u1" }, { token: "t0k3n" });
    expect(r.status).toMatchObject({ userId: "u1", status: "t0k3n" });
    const ctx = await c.getStatus({ userId: "context" }, { metadata: { "x-sb-test": "hello" }, deadlineMs: 7_000 });
    expect(ctx.status?.userId).toBe("hello");
    expect(ctx.status?.status).toMatch(/^7s 127\.0\.0\.1:\d+$/);
    c.close();
  });

  it("maps AppError to its gRPC code, message and Mattermost id (trailing metadata), and hides internal errors", async () => {
    const c = client(limited);
    await expect(c.getStatus({ userId: "missing" })).rejects.toMatchObject({
      code: "not_found",
      id: "app.user.missing_account.const",
      message: "Unable to find the user.",
    });
    const e = (await c.getStatus({ userId: "boom" }).catch((x: unknown) => x)) as AppError;
    expect(e.code).toBe("internal");
    expect(e.id).toBe("app.internal_error");
    expect(e.message).not.toContain("hunter2");
    // Only the id the server logged the detail under goes out, in the message and the metadata.
    const boom = await rawCall(limited.port, "/sb.presence.v1.PresenceService/GetStatus", Buffer.from([0x0a, 0x04, ...Buffer.from("boom")]));
    const requestId = String(boom.metadata.get("sb-request-id")[0]);
    expect(requestId).toMatch(/^[a-z0-9]{26}$/);
    expect(boom.details).toBe(`internal error (request id ${requestId})`);
    const raw = await rawCall(limited.port, "/sb.presence.v1.PresenceService/GetStatus", Buffer.from([0x0a, 0x07, ...Buffer.from("missing")]));
    expect(raw.code).toBe(grpc.status.NOT_FOUND);
    expect(raw.metadata.get("sb-error-id")).toEqual(["app.user.missing_account.const"]);
    c.close();
  });

  it("tells the caller only the kind of a failure the transport made, not its addresses", async () => {
    const free = createRpcClient(PresenceService, { address: `127.0.0.1:${String(await closedPort())}`, defaultDeadlineMs: 2_000 });
    const e = (await free.getStatus({ userId: "u1" }).catch((x: unknown) => x)) as AppError;
    free.close();
    expect(e).toMatchObject({ code: "unavailable", id: "rpc.unavailable", message: "A service is unavailable; retry." });
    // The detail stays in the cause, for the caller's log.
    expect(String((e.cause as grpc.ServiceError).details)).toMatch(/127\.0\.0\.1/);
  });

  it("carries a status message with any characters", async () => {
    const c = client(limited);
    await expect(c.getStatus({ userId: "unicode" })).rejects.toMatchObject({
      code: "not_found",
      id: "app.test.unicode",
      message: "Ünïcode 100% sure\nnew line",
    });
    c.close();
  });

  it("ends a call without a deadline at the server's default deadline, and aborts the handler's signal", async () => {
    const before = seen.aborts.length;
    const err = await rawCall(limited.port, "/sb.presence.v1.PresenceService/GetStatus", Buffer.from([0x0a, 0x0e, ...Buffer.from("wait-for-abort")]));
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(err.details).toMatch(/no deadline was set; the server's default of 300 ms passed/);
    await expect.poll(() => seen.aborts.length, { timeout: 2_000 }).toBe(before + 1);
    expect(seen.aborts.at(-1)).toMatchObject({ code: "deadline_exceeded" });
  });

  it("aborts the handler's signal when the caller's deadline passes", async () => {
    const c = client(limited);
    const before = seen.aborts.length;
    const started = Date.now();
    await expect(c.getStatus({ userId: "wait-for-abort" }, { deadlineMs: 150 })).rejects.toMatchObject({ code: "deadline_exceeded" });
    await expect.poll(() => seen.aborts.length, { timeout: 2_000 }).toBe(before + 1);
    expect(Date.now() - started).toBeLessThan(1_000);
    c.close();
  });

  it("aborts the handler's signal when the caller cancels", async () => {
    const c = client(limited);
    const ac = new AbortController();
    const before = seen.aborts.length;
    const waiting = seen.awaiting;
    const call = c.getStatus({ userId: "wait-for-abort" }, { signal: ac.signal, deadlineMs: 5_000 }).catch((e: unknown) => e);
    await expect.poll(() => seen.awaiting, { timeout: 5_000, interval: 5 }).toBe(waiting + 1);
    ac.abort();
    await call;
    await expect.poll(() => seen.aborts.length, { timeout: 2_000 }).toBe(before + 1);
    expect(seen.aborts.at(-1)).toMatchObject({ code: "unavailable" });
    c.close();
  });

  it("refuses oversized and undecodable requests, and answers too large to send, with clear codes", async () => {
    const c = client(limited);
    await expect(c.getStatus({ userId: "x".repeat(100 * 1024) })).rejects.toMatchObject({ code: "resource_exhausted" });
    const err = await rawCall(limited.port, "/sb.presence.v1.PresenceService/GetStatus", Buffer.from([0xff, 0xff, 0xff]), 2_000);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    await expect(c.getStatuses({ userIds: ["big"] })).rejects.toMatchObject({
      code: "resource_exhausted",
      message: expect.stringMatching(/exceeds the limit of 65536/) as unknown,
    });
    await expect(c.getStatuses({ userIds: ["writer", "w", "5000"] })).rejects.toMatchObject({ code: "resource_exhausted" });
    expect((await c.getStatus({ userId: "still-serving" })).status?.userId).toBe("still-serving");
    const unknown = await rawCall(limited.port, "/sb.presence.v1.PresenceService/NoSuchMethod", Buffer.alloc(0), 2_000);
    expect(unknown.code).toBe(grpc.status.UNIMPLEMENTED);
    c.close();
  });

  it("sends answers larger than the caller's 64 KiB windows and 16 KiB frames", async () => {
    // node:http2 with its defaults: 65,535-byte windows, 16,384-byte frames.
    const session = http2.connect(`http://127.0.0.1:${roomy.port}`);
    try {
      const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 5]), Buffer.from([0x0a, 0x03, 0x62, 0x69, 0x67])]); // user_ids: ["big"]
      const stream = session.request({
        ":method": "POST",
        ":path": "/sb.presence.v1.PresenceService/GetStatuses",
        "content-type": "application/grpc",
        te: "trailers",
      });
      const chunks: Buffer[] = [];
      let trailers: http2.IncomingHttpHeaders = {};
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("trailers", (t: http2.IncomingHttpHeaders) => (trailers = t));
      stream.end(body);
      await new Promise((r) => stream.on("close", r));
      const all = Buffer.concat(chunks);
      expect(bigAnswer.length).toBeGreaterThan(1 << 20);
      expect(all.readUInt32BE(1)).toBe(bigAnswer.length);
      expect(all.length).toBe(5 + bigAnswer.length);
      expect(all.subarray(5).equals(Buffer.from(bigAnswer))).toBe(true);
      expect(trailers["grpc-status"]).toBe("0");
    } finally {
      session.close();
    }
  });

  it("takes a request larger than 1 MiB, and 300 calls at once on one connection", async () => {
    const c = client(roomy);
    const ids = Array.from({ length: 150_000 }, (_, i) => `id${i}`);
    expect((await c.getStatuses({ userIds: ids })).statuses[0]?.userId).toBe("150000");
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => c.getStatus({ userId: `u${i}` })));
    expect(answers.map((a) => a.status?.userId)).toEqual(Array.from({ length: 300 }, (_, i) => `u${i}`));
    c.close();
  });

  it("sends answers their handlers wrote already (EncodedResponse) or write in place (MessageWriter), and refuses a writer that miscounts", async () => {
    const c = client(roomy);
    const big = await c.getStatuses({ userIds: ["big"] });
    expect(big.statuses).toHaveLength(BIG_STATUSES);
    const sizes = [1, 50, 400, 2_000, 40_000];
    const calls = Array.from({ length: 100 }, (_, i) => ({ tag: `c${i}`, n: sizes[i % sizes.length]! }));
    const answers = await Promise.all(calls.map(({ tag, n }) => c.getStatuses({ userIds: ["writer", tag, String(n)] })));
    answers.forEach((a, i) => {
      expect(a.statuses).toHaveLength(calls[i]!.n);
      expect(a.statuses.at(-1)!.userId).toBe(`${calls[i]!.tag}-${calls[i]!.n - 1}`);
    });
    // A writer that writes fewer bytes than it declared: INTERNAL, nothing of it sent, the connection fine.
    await expect(c.getStatuses({ userIds: ["bad-writer"] })).rejects.toMatchObject({ code: "internal", id: "app.internal_error" });
    expect((await c.getStatuses({ userIds: ["writer", "after", "3"] })).statuses.map((st) => st.userId)).toEqual(["after-0", "after-1", "after-2"]);
    c.close();
  });

  it("counts calls by method and status code", async () => {
    const c = client(limited);
    const count = (code: string) => limited.metrics.value("sb_rpc_server_handled_total", { method: "sb.presence.v1.PresenceService/GetStatus", code });
    const ok = await count("OK");
    const notFound = await count("NOT_FOUND");
    await c.getStatus({ userId: "counted" });
    await c.getStatus({ userId: "missing" }).catch(() => undefined);
    expect(await count("OK")).toBe(ok + 1);
    expect(await count("NOT_FOUND")).toBe(notFound + 1);
    c.close();
  });

  it("reports NOT_SERVING until the app marks itself ready (Check and Watch), and knows only its services", async () => {
    const fresh = await serve(transport);
    const c = new grpc.Client(`127.0.0.1:${fresh.port}`, grpc.credentials.createInsecure());
    try {
      expect(await health(fresh.port, "")).toBe(Serving.NOT_SERVING);
      const watched: Serving[] = [];
      const watch = c.makeServerStreamRequest(
        "/grpc.health.v1.Health/Watch",
        (b: Buffer) => b,
        (b: Buffer) => fromBinary(HealthCheckResponseSchema, b).status,
        Buffer.from(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "sb.presence.v1.PresenceService" }))),
      );
      watch.on("data", (s: Serving) => watched.push(s));
      watch.on("error", () => undefined);
      await expect.poll(() => watched, { timeout: 2_000 }).toEqual([Serving.NOT_SERVING]);
      fresh.server.health.setServing(true);
      await expect.poll(() => watched, { timeout: 2_000 }).toEqual([Serving.NOT_SERVING, Serving.SERVING]);
      expect(await health(fresh.port, "sb.presence.v1.PresenceService")).toBe(Serving.SERVING);
      await expect(health(fresh.port, "no.such.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      watch.cancel();
    } finally {
      c.close();
      await fresh.server.stop(200);
    }
  });

  it("serves reflection only when configured", async () => {
    await expect(reflect(limited.port, { case: "listServices", value: "" })).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    const list = await reflect(roomy.port, { case: "listServices", value: "" });
    expect(list.messageResponse.case === "listServicesResponse" ? list.messageResponse.value.service.map((s) => s.name) : []).toEqual(
      expect.arrayContaining(["sb.presence.v1.PresenceService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"]),
    );
    const file = await reflect(roomy.port, { case: "fileContainingSymbol", value: "sb.presence.v1.PresenceService.GetStatus" });
    expect(file.messageResponse.case).toBe("fileDescriptorResponse");
    const missing = await reflect(roomy.port, { case: "fileContainingSymbol", value: "no.such.Thing" });
    expect(missing.messageResponse.case).toBe("errorResponse");
  });

  it("pings a silent connection, closes it when the ping goes unanswered, and keeps one that answers", async () => {
    const keepalive = await serve(transport, { keepaliveMs: 200, keepaliveTimeoutMs: 200 });
    try {
      // A peer that never answers: a PING within two intervals, the connection closed within the timeout after it.
      const silent = await raw(keepalive.port, [PREFACE, SETTINGS], { until: () => false, timeoutMs: 3_000 });
      const ping = silent.frames.find((f) => f.type === 0x6 && (f.flags & 0x1) === 0);
      expect(ping).toBeDefined();
      expect(ping!.at).toBeLessThan(2 * 200 + 150);
      expect(silent.closed).toBe(true);
      expect(silent.closedAt! - ping!.at).toBeLessThan(200 + 150);
      // node:http2 answers pings: its connection outlives several intervals and still serves.
      const session = http2.connect(`http://127.0.0.1:${keepalive.port}`);
      let pinged = 0;
      session.on("ping", () => pinged++);
      // Three PINGs answered: the connection has outlived three keepalive intervals.
      await expect.poll(() => pinged, { timeout: 5_000, interval: 10 }).toBeGreaterThanOrEqual(3);
      expect(session.closed || session.destroyed).toBe(false);
      const c = createRpcClient(PresenceService, { address: `127.0.0.1:${keepalive.port}`, defaultDeadlineMs: 2_000 });
      expect((await c.getStatus({ userId: "alive" })).status?.userId).toBe("alive");
      c.close();
      session.close();
    } finally {
      await keepalive.server.stop(200);
    }
  });

  it("stops gracefully: finishes calls in flight, refuses new connections, then resolves", async () => {
    const s = await serve(transport, { defaultDeadlineMs: 5_000 });
    const c = createRpcClient(PresenceService, { address: `127.0.0.1:${s.port}`, defaultDeadlineMs: 5_000 });
    await c.getStatus({ userId: "warm" });
    const before = seen.slowDone;
    const entered = slow.entered;
    const inFlight = c.getStatus({ userId: "slow" });
    await expect.poll(() => slow.entered, { timeout: 5_000, interval: 5 }).toBe(entered + 1);
    const refused = () =>
      new Promise<boolean>((resolve) => {
        const sock = connect(s.port, "127.0.0.1");
        sock.on("connect", () => (sock.destroy(), resolve(false)));
        sock.on("error", () => resolve(true));
      });
    let stopped = false;
    const stopping = s.server.stop(3_000).then(() => (stopped = true));
    // New connections are refused while the call is still held in its handler, and the stop waits for it.
    await expect.poll(refused, { timeout: 5_000, interval: 10 }).toBe(true);
    expect(stopped).toBe(false);
    slow.release();
    expect((await inFlight).status?.userId).toBe("slow");
    expect(seen.slowDone).toBe(before + 1);
    await stopping;
    expect(await refused()).toBe(true);
    c.close();
  });

  it("cancels calls still running when the grace period ends", async () => {
    const s = await serve(transport, { defaultDeadlineMs: 5_000 });
    const c = createRpcClient(PresenceService, { address: `127.0.0.1:${s.port}`, defaultDeadlineMs: 5_000 });
    const before = seen.aborts.length;
    const waiting = seen.awaiting;
    const inFlight = c.getStatus({ userId: "wait-for-abort" }).catch((e: unknown) => e);
    await expect.poll(() => seen.awaiting, { timeout: 5_000, interval: 5 }).toBe(waiting + 1);
    const started = Date.now();
    await s.server.stop(200);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await inFlight).toMatchObject({ code: "unavailable" });
    await expect.poll(() => seen.aborts.length, { timeout: 2_000 }).toBe(before + 1);
    c.close();
  });
});
