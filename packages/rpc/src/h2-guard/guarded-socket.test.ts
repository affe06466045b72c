import * as http2 from "node:http2";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "@switchboard/testkit";
import { Flag, FrameType, H2Error, PREFACE } from "../h2/frames.js";
import { encodedLength, encodeHeaders } from "../h2/hpack.js";
import { frame } from "../../test/wire.js";
import { guardSocket } from "./guarded-socket.js";

const REQUEST: [string, string][] = [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", "/a.B/C"],
  [":authority", "localhost"],
];

function headers(id: number, fields: [string, string][], flags = Flag.END_HEADERS | Flag.END_STREAM): Buffer {
  const b = Buffer.alloc(encodedLength(fields));
  encodeHeaders(fields, b, 0);
  return frame(FrameType.HEADERS, flags, id, b);
}

interface Served {
  port: number;
  /** Each stream the server saw: its id, and how it closed (rstCode). */
  streams: Map<number, number | undefined>;
  sessionsClosed: number;
  close: () => void;
}

/** Node's http2 server behind the guard, answering every request "ok" once its body has ended. */
async function serve(): Promise<Served> {
  const h2 = http2.createServer();
  const served: Served = { port: 0, streams: new Map(), sessionsClosed: 0, close: () => undefined };
  h2.on("session", (s) => s.on("close", () => served.sessionsClosed++));
  h2.on("stream", (st) => {
    const id = st.id ?? 0;
    served.streams.set(id, undefined);
    st.on("error", () => undefined);
    st.on("close", () => served.streams.set(id, st.rstCode));
    st.resume();
    st.on("end", () => {
      if (!st.destroyed) st.respond({ ":status": 200 }, { endStream: false });
      if (!st.destroyed) st.end("ok");
    });
  });
  const listener = net.createServer((raw) => h2.emit("connection", guardSocket(raw, { unfinishedMessageBytes: 1 << 20 })));
  await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
  served.port = (listener.address() as net.AddressInfo).port;
  served.close = () => {
    listener.close();
    h2.close();
  };
  return served;
}

/** A client that writes raw frames and records the server's frames. */
function rawClient(port: number): { socket: net.Socket; frames: { type: FrameType; id: number; payload: Buffer }[]; closed: () => boolean } {
  const frames: { type: FrameType; id: number; payload: Buffer }[] = [];
  let closed = false;
  let buf = Buffer.alloc(0);
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  socket.on("close", () => (closed = true));
  socket.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
      const len = buf.readUIntBE(0, 3);
      frames.push({ type: buf[3]!, id: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) });
      buf = buf.subarray(9 + len);
    }
  });
  socket.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0)]));
  return { socket, frames, closed: () => closed };
}

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

describe("a guarded socket in front of Node's http2 server", () => {
  it("carries what Node's http2 client and server say to each other: 200 requests with bodies, 100 at once", async () => {
    const s = await serve();
    cleanup.push(s.close);
    const c = http2.connect(`http://127.0.0.1:${s.port}`);
    cleanup.push(() => c.destroy());
    const one = (i: number): Promise<string> =>
      new Promise((resolve, reject) => {
        const r = c.request({ ":method": "POST", ":path": "/a.B/C" });
        let body = "";
        r.setEncoding("utf8");
        r.on("data", (d: string) => (body += d));
        r.on("end", () => resolve(body));
        r.on("error", reject);
        r.end(Buffer.alloc(i * 100, 0x61));
      });
    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => one(i)));
      expect(answers.every((a) => a === "ok")).toBe(true);
    }
  });

  it("resets a stream with CR in a header value on both sides (the server sees it cancelled, the client gets PROTOCOL_ERROR) and serves the next", async () => {
    const s = await serve();
    cleanup.push(s.close);
    const c = rawClient(s.port);
    cleanup.push(() => c.socket.destroy());
    c.socket.write(Buffer.concat([headers(1, [...REQUEST, ["x-a", "a\rb"]]), headers(3, REQUEST)]));
    await waitFor(() => c.frames.some((f) => f.type === FrameType.HEADERS && f.id === 3), { timeoutMs: 5_000, what: "the answer on stream 3" });
    const rst = c.frames.find((f) => f.type === FrameType.RST_STREAM && f.id === 1);
    expect(rst?.payload.readUInt32BE(0)).toBe(H2Error.PROTOCOL_ERROR);
    expect(c.frames.some((f) => f.type === FrameType.HEADERS && f.id === 1)).toBe(false);
    await waitFor(() => s.streams.get(1) !== undefined, { timeoutMs: 5_000, what: "stream 1 closed on the server" });
    expect(s.streams.get(1)).toBe(H2Error.CANCEL);
    expect(c.closed()).toBe(false);
  });

  it("ends the connection with GOAWAY PROTOCOL_ERROR on a stream id going backwards, and the server's session with it", async () => {
    const s = await serve();
    cleanup.push(s.close);
    const c = rawClient(s.port);
    cleanup.push(() => c.socket.destroy());
    c.socket.write(headers(5, REQUEST));
    await waitFor(() => c.frames.some((f) => f.type === FrameType.DATA && f.id === 5), { timeoutMs: 5_000, what: "the answer on stream 5" });
    c.socket.write(headers(3, REQUEST));
    await waitFor(() => c.closed(), { timeoutMs: 5_000, what: "the connection closed" });
    const g = c.frames.find((f) => f.type === FrameType.GOAWAY);
    expect(g?.payload.readUInt32BE(4)).toBe(H2Error.PROTOCOL_ERROR);
    expect(g?.payload.subarray(8).toString()).toBe("stream 3 after stream 5");
    expect(s.streams.has(3)).toBe(false);
    await waitFor(() => s.sessionsClosed === 1, { timeoutMs: 5_000, what: "the server's session closed" });
  });
});
