/** HTTP/2 frames by hand, for tests that speak to a gRPC server below any client library. */
import { connect, type Socket } from "node:net";

export function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}
export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
export const SETTINGS = frame(0x4, 0, 0);

interface RawFrame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
  /** ms since the connection opened */
  at: number;
}

export interface RawResult {
  goaway?: { last: number; code: number; debug: string };
  frames: RawFrame[];
  closed: boolean;
  /** ms from the connection opening to the server closing it */
  closedAt?: number;
}

/**
 * How long a connection must stay quiet to show that the server sends nothing more: a wait that
 * is itself what a test asserts (nothing beyond a flow-control window, no GOAWAY after an
 * answer). The server writes all it may at once, so anything more would follow within a
 * millisecond here.
 */
const QUIET_MS = 200;

export interface RawOptions {
  /** Collecting ends once this holds (default: a GOAWAY came), or when the server closes... */
  readonly until?: (r: RawResult) => boolean;
  /** ...and, with `quiet`, QUIET_MS more pass without anything new. */
  readonly quiet?: boolean;
  /** Gives up (resolving with what came) after this long; the assertions then show what was missing. */
  readonly timeoutMs?: number;
}

/** Sends bytes on a raw connection; collects the server's frames until it closes or `until` holds. */
export function raw(port: number, bytes: Buffer[], o: RawOptions = {}): Promise<RawResult> {
  const until = o.until ?? ((r: RawResult) => r.goaway !== undefined);
  return new Promise((resolve) => {
    const s: Socket = connect(port, "127.0.0.1");
    const opened = performance.now();
    let input = Buffer.alloc(0);
    const result: RawResult = { frames: [], closed: false };
    let quiet: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(deadline);
      clearTimeout(quiet);
      s.destroy();
      resolve(result);
    };
    const deadline = setTimeout(done, o.timeoutMs ?? 10_000);
    const check = () => {
      if (!until(result)) return;
      if (!o.quiet) return done();
      clearTimeout(quiet);
      quiet = setTimeout(done, QUIET_MS);
    };
    s.on("data", (d: Buffer) => {
      input = Buffer.concat([input, d]);
      while (input.length >= 9) {
        const len = input.readUIntBE(0, 3);
        if (input.length < 9 + len) break;
        const f = {
          type: input[3]!,
          flags: input[4]!,
          id: input.readUInt32BE(5) & 0x7fffffff,
          payload: input.subarray(9, 9 + len),
          at: performance.now() - opened,
        };
        input = input.subarray(9 + len);
        result.frames.push(f);
        if (f.type === 0x7) result.goaway = { last: f.payload.readUInt32BE(0), code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() };
      }
      check();
    });
    s.on("close", () => {
      result.closed = true;
      result.closedAt = performance.now() - opened;
      done();
    });
    s.on("error", () => undefined);
    s.on("connect", () => {
      for (const b of bytes) s.write(b);
    });
  });
}
