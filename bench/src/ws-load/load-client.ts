/**
 * A low-overhead WebSocket load client, run as its own process (fork): it opens many
 * connections with raw sockets (no per-message parsing beyond frame headers), answers pings,
 * and counts the text frames each connection receives. With `checkSeq`, it also checks that
 * each connection's event `seq` runs 0, 1, 2, ... with no gap, repeat or reordering (read from
 * the frame's tail, where Mattermost's `"seq":N}` ends it). Driven over IPC by load-client-pool.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

interface OpenRequest {
  type: "open";
  host: string;
  port: number;
  path: string;
  /** One entry per connection: its extra upgrade headers. */
  headers: Record<string, string>[];
  /** Source addresses to spread connections over (127.0.0.x). */
  localAddresses?: string[];
  /** Check every connection's event seq (a Mattermost server's frames, not a fixed frame). */
  checkSeq?: boolean;
}

interface Conn {
  socket: Socket;
  upgraded: boolean;
  pending: Buffer;
  frames: number;
  bytes: number;
  /** The seq the next event must carry. */
  nextSeq: number;
}

const conns: Conn[] = [];
let total = 0;
/** Text frames of `posted` events (the burst), apart from hellos and status changes. */
let posted = 0;
const POSTED_PREFIX = Buffer.from('{"event":"posted"');
let checkSeq = false;
/** Events whose seq was not the connection's next one. */
let seqErrors = 0;
const SEQ_KEY = Buffer.from('"seq":');

/** The seq at the end of an event frame (`..."seq": N}`), or -1 when there is none (a reply). */
function tailSeq(frame: Buffer): number {
  let i = frame.length - 1;
  if (i < SEQ_KEY.length + 1 || frame[i] !== 125) return -1;
  let value = 0;
  let scale = 1;
  let digits = 0;
  for (i--; i >= 0 && frame[i]! >= 48 && frame[i]! <= 57; i--, digits++) {
    value += (frame[i]! - 48) * scale;
    scale *= 10;
  }
  while (i >= 0 && frame[i] === 32) i--;
  if (digits === 0 || i < SEQ_KEY.length - 1) return -1;
  return frame.subarray(i - SEQ_KEY.length + 1, i + 1).equals(SEQ_KEY) ? value : -1;
}

function isPosted(frame: Buffer): boolean {
  return frame.length >= POSTED_PREFIX.length && POSTED_PREFIX.equals(frame.subarray(0, POSTED_PREFIX.length));
}

function maskedControl(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ mask[i % 4]!;
  return out;
}

function consume(c: Conn): void {
  let buf = c.pending;
  for (;;) {
    if (buf.length < 2) break;
    const opcode = buf[0]! & 0x0f;
    let len = buf[1]! & 0x7f;
    let off = 2;
    if (len === 126) {
      if (buf.length < 4) break;
      len = buf.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (buf.length < 10) break;
      len = Number(buf.readBigUInt64BE(2));
      off = 10;
    }
    if (buf.length < off + len) break;
    if (opcode === 1 || opcode === 2) {
      c.frames++;
      total++;
      const frame = buf.subarray(off, off + len);
      if (isPosted(frame)) posted++;
      if (checkSeq && opcode === 1) {
        const seq = tailSeq(frame);
        if (seq >= 0) {
          if (seq !== c.nextSeq) seqErrors++;
          c.nextSeq = seq + 1;
        }
      }
    } else if (opcode === 9) {
      c.socket.write(maskedControl(10, buf.subarray(off, off + len)));
    }
    buf = buf.subarray(off + len);
  }
  c.pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
}

function open(req: OpenRequest, i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const local = req.localAddresses?.[i % req.localAddresses.length];
    const socket = connect({ host: req.host, port: req.port, ...(local ? { localAddress: local } : {}) });
    const c: Conn = { socket, upgraded: false, pending: Buffer.alloc(0), frames: 0, bytes: 0, nextSeq: 0 };
    socket.setNoDelay(true);
    socket.once("connect", () => {
      const extra = Object.entries(req.headers[i] ?? {})
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("");
      socket.write(
        `GET ${req.path} HTTP/1.1\r\nHost: ${req.host}:${req.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      );
    });
    socket.on("data", (d: Buffer) => {
      c.bytes += d.length;
      if (!c.upgraded) {
        const all = Buffer.concat([c.pending, d]);
        const end = all.indexOf("\r\n\r\n");
        if (end < 0) {
          c.pending = all;
          return;
        }
        if (!all.subarray(0, 12).toString().includes("101")) {
          reject(new Error(`upgrade refused: ${all.subarray(0, end).toString().split("\r\n")[0]}`));
          socket.destroy();
          return;
        }
        c.upgraded = true;
        c.pending = all.subarray(end + 4);
        conns.push(c);
        resolve();
        consume(c);
        return;
      }
      c.pending = c.pending.length > 0 ? Buffer.concat([c.pending, d]) : d;
      consume(c);
    });
    socket.once("error", reject);
  });
}

process.on("message", (msg: { type: string } & Partial<OpenRequest>) => {
  void (async () => {
    if (msg.type === "open") {
      const req = msg as OpenRequest;
      checkSeq = req.checkSeq === true;
      const started = Date.now();
      const batch = 200;
      try {
        for (let i = 0; i < req.headers.length; i += batch) {
          await Promise.all(Array.from({ length: Math.min(batch, req.headers.length - i) }, (_, k) => open(req, i + k)));
        }
        process.send!({ type: "opened", count: conns.length, ms: Date.now() - started });
      } catch (e: unknown) {
        process.send!({ type: "error", error: String(e) });
      }
    } else if (msg.type === "count") {
      let min = Infinity;
      for (const c of conns) min = Math.min(min, c.frames);
      process.send!({ type: "count", total, posted, min: conns.length ? min : 0, seqErrors, cpu: process.cpuUsage() });
    } else if (msg.type === "close") {
      for (const c of conns) c.socket.destroy();
      process.send!({ type: "closed" });
      process.exit(0);
    }
  })();
});
process.send!({ type: "ready" });
