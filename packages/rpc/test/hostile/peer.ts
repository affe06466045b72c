/**
 * A hostile HTTP/2 peer: a raw TCP socket that writes frames by hand (literal HPACK headers,
 * never indexed, so any name or value goes out as it is) and reads what the server sends back,
 * keeping the flow-control windows the server grants so it can send all a window allows.
 */
import { connect, type Socket } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { GetStatusRequestSchema } from "@switchboard/proto/presence";
import { frame, PREFACE } from "../wire.js";

export const T = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;
export const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const E = { NO_ERROR: 0, PROTOCOL_ERROR: 1, FLOW_CONTROL_ERROR: 3, STREAM_CLOSED: 5, REFUSED_STREAM: 7, CANCEL: 8, ENHANCE_YOUR_CALM: 0xb } as const;

export const GET_STATUS = "/sb.presence.v1.PresenceService/GetStatus";

/** An HPACK integer with an n-bit prefix (RFC 7541 §5.1), first octet carrying `flags`. */
function hpackInt(v: number, n: number, flags: number): number[] {
  const max = (1 << n) - 1;
  if (v < max) return [flags | v];
  const out = [flags | max];
  v -= max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** A header block of literal fields without indexing (RFC 7541 §6.2.2), names and values as given. */
export function literalBlock(fields: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name, "latin1");
    const v = Buffer.from(value, "latin1");
    parts.push(Buffer.from([0x00, ...hpackInt(n.length, 7, 0)]), n, Buffer.from(hpackInt(v.length, 7, 0)), v);
  }
  return Buffer.concat(parts);
}

export const requestFields = (path = GET_STATUS): [string, string][] => [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", path],
  [":authority", "localhost"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
];

/** A gRPC message (length-prefixed) of GetStatus for `userId`. */
export function getStatusMessage(userId: string): Buffer {
  const m = toBinary(GetStatusRequestSchema, create(GetStatusRequestSchema, { userId }));
  const b = Buffer.alloc(5 + m.length);
  b.writeUInt32BE(m.length, 1);
  b.set(m, 5);
  return b;
}

/** A gRPC message prefix that announces `length` bytes. */
export function messagePrefix(length: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(length, 1);
  return b;
}

export const headers = (id: number, block: Buffer, flags: number = F.END_HEADERS): Buffer => frame(T.HEADERS, flags, id, block);
export const data = (id: number, payload: Buffer, flags: number = 0): Buffer => frame(T.DATA, flags, id, payload);
export const rst = (id: number, code: number): Buffer => frame(T.RST_STREAM, 0, id, u32(code));
export const windowUpdate = (id: number, inc: number): Buffer => frame(T.WINDOW_UPDATE, 0, id, u32(inc));
export const ping = (n: number): Buffer => frame(T.PING, 0, 0, Buffer.concat([u32(0), u32(n)]));
export const settings = (pairs: readonly (readonly [number, number])[] = []): Buffer =>
  frame(T.SETTINGS, 0, 0, Buffer.concat(pairs.map(([k, v]) => Buffer.from([k >> 8, k & 0xff, ...u32(v)]))));
/** A complete GetStatus request on stream `id` (HEADERS, then DATA with END_STREAM). */
export const request = (id: number, userId: string): Buffer =>
  Buffer.concat([headers(id, literalBlock(requestFields())), data(id, getStatusMessage(userId), F.END_STREAM)]);

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
}

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly id: number;
  readonly payload: Buffer;
}

/** One raw connection to the server. */
export class HostilePeer {
  readonly socket: Socket;
  /** The frames kept: all with `keepAll`, else HEADERS, RST_STREAM and GOAWAY only (floods answer with many acks). */
  readonly frames: Frame[] = [];
  goaway: { last: number; code: number; debug: string } | undefined;
  closed = false;
  connected: Promise<void>;
  /** The window the server grants us, for the connection and per stream (from SETTINGS and WINDOW_UPDATE). */
  connWindow = 65_535;
  initialStreamWindow = 65_535;
  readonly streamWindows = new Map<number, number>();
  resets = new Map<number, number>();
  framesSeen = 0;
  private input: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  constructor(port: number, o: { localAddress?: string; preface?: boolean; keepAll?: boolean; read?: boolean } = {}) {
    this.socket = connect({ port, host: "127.0.0.1", ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    this.socket.setNoDelay(true);
    this.socket.on("error", () => undefined);
    this.socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    if (o.read === false) this.socket.pause();
    this.socket.on("data", (d: Buffer) => this.receive(d, o.keepAll ?? false));
    this.connected = new Promise((resolve) => this.socket.once("connect", () => resolve()));
    if (o.preface ?? true) void this.write(Buffer.concat([PREFACE, settings()]));
  }

  /** Writes unless the socket is gone; resolves once the socket took the bytes (backpressure). */
  write(b: Buffer): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.resolve();
    if (this.socket.write(b)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.once("drain", done);
      this.socket.once("close", done);
    });
  }

  /** Resolves when `pred` holds (checked on every frame and on close) or after `timeoutMs`. */
  until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve(pred());
      }, timeoutMs);
      const check = (): void => {
        if (!pred() && !this.closed) return;
        clearTimeout(t);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve(pred());
      };
      this.waiters.push(check);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private receive(d: Buffer, keepAll: boolean): void {
    this.input = this.input.length ? Buffer.concat([this.input, d]) : d;
    let p = 0;
    while (this.input.length - p >= 9) {
      const len = this.input.readUIntBE(p, 3);
      if (this.input.length - p < 9 + len) break;
      const f: Frame = {
        type: this.input[p + 3]!,
        flags: this.input[p + 4]!,
        id: this.input.readUInt32BE(p + 5) & 0x7fffffff,
        payload: this.input.subarray(p + 9, p + 9 + len),
      };
      p += 9 + len;
      this.framesSeen++;
      this.onFrame(f, keepAll);
    }
    this.input = Buffer.from(this.input.subarray(p));
    this.wake();
  }

  private onFrame(f: Frame, keepAll: boolean): void {
    if (f.type === T.GOAWAY) this.goaway = { last: f.payload.readUInt32BE(0), code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() };
    if (f.type === T.RST_STREAM) this.resets.set(f.id, f.payload.readUInt32BE(0));
    if (f.type === T.WINDOW_UPDATE) {
      const inc = f.payload.readUInt32BE(0) & 0x7fffffff;
      if (f.id === 0) this.connWindow += inc;
      else this.streamWindows.set(f.id, this.windowOf(f.id) + inc);
    }
    if (f.type === T.SETTINGS && !(f.flags & F.ACK)) {
      for (let i = 0; i + 6 <= f.payload.length; i += 6) if (f.payload.readUInt16BE(i) === 0x4) this.initialStreamWindow = f.payload.readUInt32BE(i + 2);
    }
    if (keepAll || f.type === T.RST_STREAM || f.type === T.GOAWAY || f.type === T.HEADERS) this.frames.push({ ...f, payload: Buffer.from(f.payload) });
  }

  windowOf(id: number): number {
    return this.streamWindows.get(id) ?? this.initialStreamWindow;
  }

  /** Takes `n` bytes of window for stream `id` (the caller sends that much DATA). */
  spend(id: number, n: number): void {
    this.connWindow -= n;
    this.streamWindows.set(id, this.windowOf(id) - n);
  }
}
