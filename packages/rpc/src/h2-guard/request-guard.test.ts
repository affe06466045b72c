import * as http2 from "node:http2";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "@switchboard/testkit";
import { Flag, FrameType, H2Error, PREFACE } from "../h2/frames.js";
import { encodedLength, encodeHeaders } from "../h2/hpack.js";
import { frame } from "../../test/wire.js";
import { FrameWalker } from "./frame-walker.js";
import { RequestGuard } from "./request-guard.js";

const REQUEST: [string, string][] = [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", "/a.B/C"],
  [":authority", "localhost"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
];

function block(fields: [string, string][]): Buffer {
  const b = Buffer.alloc(encodedLength(fields));
  encodeHeaders(fields, b, 0);
  return b;
}

const headers = (id: number, flags = Flag.END_HEADERS, fields = REQUEST): Buffer => frame(FrameType.HEADERS, flags, id, block(fields));
const data = (id: number, payload: Buffer, flags = 0): Buffer => frame(FrameType.DATA, flags, id, payload);

/** A gRPC message prefix announcing `length` bytes, and `have` of them. */
function message(length: number, have = length): Buffer {
  const b = Buffer.alloc(5 + have, 0x61);
  b[0] = 0;
  b.writeUInt32BE(length, 1);
  return b;
}

interface Seen {
  forwarded: Buffer[];
  resets: [number, number][];
  failure: { code: number; debug: string; last: number } | undefined;
}

function guarded(unfinishedMessageBytes = 1 << 20): { guard: RequestGuard; seen: Seen; forwarded: () => Buffer } {
  const seen: Seen = { forwarded: [], resets: [], failure: undefined };
  const guard = new RequestGuard(
    { unfinishedMessageBytes },
    {
      forward: (b) => seen.forwarded.push(Buffer.from(b)),
      resetStream: (id, code) => seen.resets.push([id, code]),
      fail: (code, debug, last) => (seen.failure = { code, debug, last }),
    },
  );
  return { guard, seen, forwarded: () => Buffer.concat(seen.forwarded) };
}

/** What Node's http2 client sends (preface, SETTINGS, requests) for `calls`, read off a socket that never answers. */
async function clientBytes(calls: (s: http2.ClientHttp2Session) => void, ends: number): Promise<Buffer> {
  const got: Buffer[] = [];
  const server = net.createServer((s) => s.on("data", (b: Buffer) => got.push(b)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const session = http2.connect(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  session.on("error", () => undefined);
  calls(session);
  // Done once `ends` streams have sent END_STREAM.
  const ended = (): number => {
    const w = new FrameWalker();
    const all = Buffer.concat(got).subarray(PREFACE.length);
    let pos = 0;
    let n = 0;
    while (pos < all.length) {
      if (!w.inPayload) pos = w.takeHeader(all, pos);
      else pos += w.takePayload(all.length - pos);
      if (w.inPayload && w.remaining === 0) {
        if ((w.type === FrameType.DATA || w.type === FrameType.HEADERS) && w.flags & Flag.END_STREAM) n++;
        w.endFrame();
      }
    }
    return n;
  };
  await waitFor(() => got.length > 0 && ended() >= ends, { timeoutMs: 5_000, what: "the client's requests" });
  session.destroy();
  server.close();
  return Buffer.concat(got);
}

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

describe("the request guard in front of grpc-js", () => {
  it("passes what Node's http2 client sends unchanged, whole or in pieces: a message over several DATA frames, later requests coded against the HPACK table", async () => {
    // Within the 65,535-byte window a client has before the server's first WINDOW_UPDATE (none comes).
    const big = message(40_000);
    const bytes = await clientBytes((s) => {
      for (const [i, body] of [message(3), big, message(0)].entries()) {
        const st = s.request({ ":method": "POST", ":path": "/a.B/C", "content-type": "application/grpc", te: "trailers", "x-i": String(i) });
        st.on("error", () => undefined);
        st.end(body);
      }
    }, 3);
    for (const step of [bytes.length, 1, 7]) {
      const { guard, seen, forwarded } = guarded(200_000);
      for (let i = 0; i < bytes.length; i += step) guard.received(bytes.subarray(i, i + step));
      expect(seen.failure).toBeUndefined();
      expect(seen.resets).toEqual([]);
      expect(forwarded().equals(bytes)).toBe(true);
      expect(guard.unfinishedBytes).toBe(0);
    }
  }, 20_000);

  it("ends the connection with PROTOCOL_ERROR when a new stream's id is not above the last (RFC 9113 §5.1.1), forwarding nothing of that frame", () => {
    const { guard, seen, forwarded } = guarded();
    const first = Buffer.concat([PREFACE, headers(5, Flag.END_HEADERS | Flag.END_STREAM)]);
    guard.serverClosed(5);
    guard.received(Buffer.concat([first, headers(3, Flag.END_HEADERS | Flag.END_STREAM)]));
    expect(seen.failure).toEqual({ code: H2Error.PROTOCOL_ERROR, debug: "stream 3 after stream 5", last: 5 });
    expect(forwarded().equals(first)).toBe(true);
    guard.received(headers(7));
    expect(forwarded().equals(first)).toBe(true);
  });

  it("ends the connection with STREAM_CLOSED on DATA or HEADERS after the client's END_STREAM, and lets it pass once the server has closed the stream", () => {
    for (const after of [data(1, Buffer.from([0])), headers(1, Flag.END_HEADERS | Flag.END_STREAM, [["x-t", "1"]])]) {
      const { guard, seen } = guarded();
      guard.received(Buffer.concat([PREFACE, headers(1, Flag.END_HEADERS), data(1, message(1), Flag.END_STREAM), after]));
      expect(seen.failure?.code).toBe(H2Error.STREAM_CLOSED);
    }
    const { guard, seen, forwarded } = guarded();
    guard.received(Buffer.concat([PREFACE, headers(1, Flag.END_HEADERS | Flag.END_STREAM)]));
    guard.serverClosed(1);
    guard.received(data(1, Buffer.from([0])));
    expect(seen.failure).toBeUndefined();
    expect(
      forwarded()
        .subarray(-10)
        .equals(data(1, Buffer.from([0]))),
    ).toBe(true);
  });

  it("counts the bytes of unfinished messages over the connection's streams, not padding, and ends the connection with ENHANCE_YOUR_CALM over the budget", () => {
    const { guard, seen } = guarded(1_000);
    // 905 bytes of a 990-byte message, in a frame with 200 bytes of padding.
    const padded = Buffer.concat([Buffer.from([200]), message(990, 900), Buffer.alloc(200)]);
    guard.received(Buffer.concat([PREFACE, headers(1), frame(FrameType.DATA, Flag.PADDED, 1, padded)]));
    expect(guard.unfinishedBytes).toBe(905);
    // Finished: the stream holds nothing.
    guard.received(data(1, Buffer.alloc(90)));
    expect(guard.unfinishedBytes).toBe(0);
    guard.received(Buffer.concat([headers(3), data(3, message(4_000, 500)), headers(5), data(5, message(4_000, 400))]));
    expect(guard.unfinishedBytes).toBe(910);
    expect(seen.failure).toBeUndefined();
    // A stream the server ended gives its bytes back.
    guard.serverClosed(3);
    expect(guard.unfinishedBytes).toBe(405);
    guard.received(data(5, Buffer.alloc(596)));
    expect(seen.failure).toEqual({ code: H2Error.ENHANCE_YOUR_CALM, debug: "unfinished gRPC messages over 1000 bytes", last: 5 });
  });

  it.each([
    ["CR", "a\rb"],
    ["LF", "a\nb"],
    ["NUL", "a\0b"],
    ["a leading space", " a"],
    ["a trailing tab", "a\t"],
  ])("resets a stream whose header value has %s (RFC 9113 §8.2.1) after its header block, across CONTINUATION, and serves the next", (_what, value) => {
    const { guard, seen, forwarded } = guarded();
    const b = block([...REQUEST, ["x-a", value]]);
    const bad = Buffer.concat([
      frame(FrameType.HEADERS, 0, 1, b.subarray(0, 10)),
      frame(FrameType.CONTINUATION, 0, 1, b.subarray(10, 20)),
      frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, b.subarray(20)),
    ]);
    guard.received(Buffer.concat([PREFACE, bad]));
    expect(seen.resets).toEqual([[1, H2Error.PROTOCOL_ERROR]]);
    // The block reached the server (its HPACK table stays in step) before the reset.
    expect(forwarded().equals(Buffer.concat([PREFACE, bad]))).toBe(true);
    guard.received(Buffer.concat([data(1, message(1), Flag.END_STREAM), headers(3), data(3, message(1), Flag.END_STREAM)]));
    expect(seen.resets).toEqual([[1, H2Error.PROTOCOL_ERROR]]);
    expect(seen.failure).toBeUndefined();
  });
});
