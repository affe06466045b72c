/**
 * What only our own HTTP/2 (src/h2/connection.ts) promises, over real loopback sockets against
 * node:http2 clients and raw frames: its flow-control windows both ways, frame splitting,
 * output batches under backpressure, HTTP errors for non-gRPC requests, and protocol
 * violations that end only the offending connection while everyone else keeps being served.
 * What both server implementations promise is in server.int.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as http2 from "node:http2";
import { connect, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { silentLogger } from "@switchboard/log";
import { GetStatusesRequestSchema, GetStatusesResponseSchema, PresenceService } from "@switchboard/proto/presence";
import { createRpcClient, createRpcServer, EncodedResponse, type ImplOf, type RpcServer } from "../src/index.js";
import { headerBlock } from "../src/call.js";
import { HpackDecoder } from "../src/h2/hpack.js";
import { FLOW_CONTROL_WINDOW_BYTES } from "../src/flow-control.js";
import { PREFACE, SETTINGS, frame, raw as rawTo, type RawOptions, type RawResult } from "./wire.js";
import { BytesWriter, bigAnswer, never, taggedAnswer } from "./answers.js";

const MAX_MESSAGE = 8 << 20;
/** In-place writers handed out (one per "writer" call the server has answered). */
let writersMade = 0;

const impl: ImplOf<typeof PresenceService> = {
  async getStatus(req) {
    return { status: { userId: req.userId, status: "online" } };
  },
  // The request's size comes back as the count of statuses asked for; "big" asks for a large answer;
  // "writer", tag, n: n statuses "tag-i" written in place (MessageWriter); "bad-writer": one that miscounts.
  async getStatuses(req) {
    if (req.userIds[0] === "big") return new EncodedResponse(bigAnswer);
    if (req.userIds[0] === "writer") {
      writersMade++;
      return new BytesWriter(taggedAnswer(req.userIds[1]!, Number(req.userIds[2])));
    }
    if (req.userIds[0] === "bad-writer") return new BytesWriter(taggedAnswer("x", 10), 3);
    return { statuses: [{ userId: String(req.userIds.length), status: "online" }] };
  },
  listActiveStatuses: never,
  setStatus: never,
  acquireLease: never,
  report: never,
  releaseLease: never,
};

let server: RpcServer;
let port: number;

beforeAll(async () => {
  server = createRpcServer({ transport: "h2", host: "127.0.0.1", port: 0, maxMessageBytes: MAX_MESSAGE, defaultDeadlineMs: 5_000, logger: silentLogger });
  server.add(PresenceService, impl);
  port = await server.start();
});

afterAll(async () => {
  await server?.stop(1_000);
});

const client = () => createRpcClient(PresenceService, { address: `127.0.0.1:${port}`, defaultDeadlineMs: 10_000, maxMessageBytes: MAX_MESSAGE });

const grpcRequestFields = (path = "/sb.presence.v1.PresenceService/GetStatus"): [string, string][] => [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", path],
  [":authority", "localhost"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
];

async function stillServing(): Promise<void> {
  const c = client();
  expect((await c.getStatus({ userId: "after" })).status?.userId).toBe("after");
  c.close();
}

const raw = (bytes: Buffer[], o?: RawOptions): Promise<RawResult> => rawTo(port, bytes, o);

describe("gRPC over our HTTP/2", () => {
  it("opens 1 MiB HTTP/2 flow-control windows per stream and per connection, not the default 64 KiB", async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
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

  it("sends no more DATA than the caller's window allows, in frames no larger than 16 KiB", async () => {
    const settings = (window: number) => {
      const p = Buffer.alloc(6);
      p.writeUInt16BE(0x4, 0);
      p.writeUInt32BE(window, 2);
      return frame(0x4, 0, 0, p);
    };
    const windowUpdate = (id: number, inc: number) => {
      const p = Buffer.alloc(4);
      p.writeUInt32BE(inc, 0);
      return frame(0x8, 0, id, p);
    };
    const request = [
      frame(0x1, 0x4, 1, headerBlock(grpcRequestFields("/sb.presence.v1.PresenceService/GetStatuses"))),
      frame(0x0, 0x1, 1, Buffer.from([0, 0, 0, 0, 5, 0x0a, 0x03, 0x62, 0x69, 0x67])), // user_ids: ["big"]
    ];
    const dataOf = (r: RawResult) => r.frames.filter((f) => f.type === 0x0 && f.id === 1);
    const bytes = (r: RawResult) => dataOf(r).reduce((n, f) => n + f.payload.length, 0);
    const windowful = (n: number): RawOptions => ({ until: (r: RawResult) => bytes(r) >= n, quiet: true });
    const trailers = (r: RawResult) => r.frames.some((f) => f.type === 0x1 && f.id === 1 && (f.flags & 0x1) === 0x1);

    // A stream window of 1,000 bytes and no WINDOW_UPDATE: exactly 1,000 bytes arrive.
    const held = await raw([PREFACE, settings(1_000), ...request], windowful(1_000));
    expect(bytes(held)).toBe(1_000);
    // 3,000 more on the stream: 4,000 in all.
    const more = await raw([PREFACE, settings(1_000), ...request, windowUpdate(1, 3_000)], windowful(4_000));
    expect(bytes(more)).toBe(4_000);
    // Windows wide open: the whole answer, no frame over 16,384 bytes, then the trailers.
    const open = await raw([PREFACE, settings(2 ** 31 - 1), windowUpdate(0, 2 ** 31 - 1 - 65_535), ...request], { until: trailers });
    expect(bytes(open)).toBe(5 + bigAnswer.length);
    expect(Math.max(...dataOf(open).map((f) => f.payload.length))).toBe(16_384);
    expect(open.frames.filter((f) => f.type === 0x1 && f.id === 1).at(-1)!.flags & 0x1).toBe(0x1);
    // The connection window holds too: 65,535 bytes without a connection WINDOW_UPDATE.
    const conn = await raw([PREFACE, settings(2 ** 31 - 1), ...request], windowful(65_535));
    expect(bytes(conn)).toBe(65_535);
  });

  it("keeps answers intact when the caller stops reading and the socket backs up", async () => {
    // Windows wide open and the socket not read: the server's writes queue behind the kernel's
    // buffers, so output batches are still owned by pending writes when the next ones are made.
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(0x4, 0);
    settings.writeUInt32BE(2 ** 31 - 1, 2);
    const connWindow = Buffer.alloc(4);
    connWindow.writeUInt32BE(2 ** 31 - 1 - 65_535, 0);
    const CALLS = 1_500;
    const PER_CALL = 300; // about 5 KiB each, written into the batch: 7 MiB in all
    const out: Buffer[] = [PREFACE, frame(0x4, 0, 0, settings), frame(0x8, 0, 0, connWindow)];
    for (let i = 0; i < CALLS; i++) {
      const body = toBinary(GetStatusesRequestSchema, create(GetStatusesRequestSchema, { userIds: ["writer", `s${i}`, String(PER_CALL)] }));
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(body.length, 1);
      out.push(frame(0x1, 0x4, 1 + 2 * i, headerBlock(grpcRequestFields("/sb.presence.v1.PresenceService/GetStatuses"))));
      out.push(frame(0x0, 0x1, 1 + 2 * i, Buffer.concat([prefix, body])));
    }
    const s: Socket = connect(port, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    s.pause();
    const writersBefore = writersMade;
    s.write(Buffer.concat(out));
    // Every call answered (its writer made) while the socket is not read: the writes back up.
    await expect.poll(() => writersMade - writersBefore, { timeout: 20_000, interval: 10 }).toBe(CALLS);
    const data = new Map<number, Buffer[]>();
    const status = new Map<number, string>();
    const decoder = new HpackDecoder();
    let input = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${status.size} of ${CALLS} calls ended`)), 20_000);
      s.on("data", (d: Buffer) => {
        input = Buffer.concat([input, d]);
        while (input.length >= 9) {
          const len = input.readUIntBE(0, 3);
          if (input.length < 9 + len) break;
          const type = input[3]!;
          const id = input.readUInt32BE(5) & 0x7fffffff;
          const payload = input.subarray(9, 9 + len);
          input = input.subarray(9 + len);
          if (type === 0x0) data.set(id, [...(data.get(id) ?? []), payload]);
          if (type === 0x1) {
            decoder.decode(payload, 1 << 20, (name, value) => {
              if (name === "grpc-status") status.set(id, value);
            });
          }
        }
        if (status.size === CALLS) {
          clearTimeout(t);
          resolve();
        }
      });
      s.resume();
    });
    s.destroy();
    for (let i = 0; i < CALLS; i++) {
      const id = 1 + 2 * i;
      expect(status.get(id)).toBe("0");
      const body = Buffer.concat(data.get(id) ?? []);
      expect(body.readUInt32BE(1)).toBe(body.length - 5);
      const ids = fromBinary(GetStatusesResponseSchema, body.subarray(5)).statuses.map((st) => st.userId);
      expect(ids).toHaveLength(PER_CALL);
      expect(ids[0]).toBe(`s${i}-0`);
      expect(ids.at(-1)).toBe(`s${i}-${PER_CALL - 1}`);
    }
  });

  it("answers non-gRPC requests with HTTP errors and unknown encodings with UNIMPLEMENTED", async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const status = (headers: http2.OutgoingHttpHeaders) =>
        new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
          const s = session.request(headers);
          s.on("response", (h) => resolve(h));
          s.on("error", reject);
          s.end();
        });
      expect((await status({ ":method": "GET", ":path": "/" }))[":status"]).toBe(405);
      expect((await status({ ":method": "POST", ":path": "/x", "content-type": "text/plain" }))[":status"]).toBe(415);
      const gz = await status({
        ":method": "POST",
        ":path": "/sb.presence.v1.PresenceService/GetStatus",
        "content-type": "application/grpc",
        "grpc-encoding": "gzip",
      });
      expect(gz["grpc-status"]).toBe(String(grpc.status.UNIMPLEMENTED));
      expect(gz["grpc-accept-encoding"]).toBe("identity");
      const bad = await status({
        ":method": "POST",
        ":path": "/sb.presence.v1.PresenceService/GetStatus",
        "content-type": "application/grpc",
        "grpc-timeout": "soon",
      });
      expect(bad["grpc-status"]).toBe(String(grpc.status.INTERNAL));
    } finally {
      session.close();
    }
  });

  it("ends a connection that breaks the protocol with GOAWAY, and keeps serving the others", async () => {
    const closed: RawOptions = { until: () => false }; // until the server closes the connection
    const http1 = await raw([Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")], closed);
    expect(http1.closed).toBe(true);
    expect(http1.goaway?.code).toBe(0x1);

    const evenStream = await raw([PREFACE, SETTINGS, frame(0x1, 0x5, 2, headerBlock(grpcRequestFields()))], closed);
    expect(evenStream.goaway?.code).toBe(0x1); // PROTOCOL_ERROR
    expect(evenStream.closed).toBe(true);

    const oversized = await raw([PREFACE, SETTINGS, frame(0x0, 0, 1, Buffer.alloc(20_000))]);
    expect(oversized.goaway?.code).toBe(0x6); // FRAME_SIZE_ERROR

    const noSettings = await raw([PREFACE, frame(0x6, 0, 0, Buffer.alloc(8))]);
    expect(noSettings.goaway?.code).toBe(0x1);

    const badHpack = await raw([PREFACE, SETTINGS, frame(0x1, 0x5, 1, Buffer.from([0x80]))]);
    expect(badHpack.goaway?.code).toBe(0x9); // COMPRESSION_ERROR

    const pings = Array.from({ length: 5 }, () => frame(0x6, 0, 0, Buffer.alloc(8)));
    const pingFlood = await raw([PREFACE, SETTINGS, ...pings]);
    expect(pingFlood.goaway).toMatchObject({ code: 0xb, debug: "too_many_pings" }); // ENHANCE_YOUR_CALM

    await stillServing();
  });

  it("stops a rapid-reset flood, and answers an oversized header list with RESOURCE_EXHAUSTED", async () => {
    const block = headerBlock(grpcRequestFields());
    const flood: Buffer[] = [PREFACE, SETTINGS];
    for (let id = 1; id < 2 * 1_200; id += 2) flood.push(frame(0x1, 0x4, id, block), frame(0x3, 0, id, Buffer.from([0, 0, 0, 8])));
    const reset = await raw([Buffer.concat(flood)]);
    expect(reset.goaway?.code).toBe(0xb);

    // 20 KB of metadata: more than one frame (CONTINUATION) and over the 16 KiB list limit.
    const big = headerBlock([...grpcRequestFields(), ["x-big", "a".repeat(20_000)]]);
    const first = big.subarray(0, 16_384);
    const rest = big.subarray(16_384);
    const answered = (r: RawResult) => r.frames.some((f) => f.type === 0x1 && f.id === 1);
    const tooBig = await raw([PREFACE, SETTINGS, frame(0x1, 0x1, 1, first), frame(0x9, 0x4, 1, rest)], { until: answered, quiet: true });
    const headers = tooBig.frames.find((f) => f.type === 0x1 && f.id === 1);
    expect(headers).toBeDefined();
    expect(headers!.flags & 0x1).toBe(0x1); // trailers-only
    expect(headers!.payload.toString("latin1")).toContain("grpc-status");
    expect(headers!.payload.toString("latin1")).toContain(String(grpc.status.RESOURCE_EXHAUSTED));
    expect(tooBig.goaway).toBeUndefined();

    await stillServing();
  });
});
