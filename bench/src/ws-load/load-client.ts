/**
 * A low-overhead WebSocket load client, run as its own process (fork): it opens many
 * connections with raw sockets (no per-message parsing beyond frame headers), answers pings,
 * and counts the text frames each connection receives. With `checkSeq`, it also checks that
 * each connection's event `seq` runs 0, 1, 2, ... with no gap, repeat or reordering (read from
 * the frame's tail, where Mattermost's `"seq":N}` ends it). Driven over IPC by load-client-pool.
 *
 * With `record`, each connection also keeps what a resume check needs: its hellos and
 * connection ids, the id of every `posted` event's post in arrival order, its closes, and for
 * each reconnect when it dialled, upgraded and received its first frame. With `reconnect`, a
 * closed connection comes back as the stock Mattermost client does (`@mattermost/client`
 * websocket.js): after 3 s plus up to 2 s of jitter (backing off after 7 failures in a row),
 * with `connection_id`, `sequence_number` (the next seq it expects) and `disconnect_err_code`,
 * on one of the given ports.
 *
 * With `expect` (before a burst), every `posted` frame's post id goes into a DeliveryLedger
 * (completeness.ts): each connection must get every post of the burst once, in publish order
 * (or, with `order: "agreed"`, in the one order all connections got them: the server's).
 * The ledger compares the id in place with the one the connection expects next, so a delivery
 * costs no allocation. `expect` can also make this client drop or swap one delivery on one
 * connection, which is how the completeness check is proven to fail such a run.
 *
 * `pause` stops reading some connections (and `resume` starts again): a client that stopped
 * reading, whose unread frames fill the kernel's buffers and then the server's.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { DeliveryLedger, type LedgerGroups, type LedgerOrder } from "../completeness.js";

/** A fault this client makes on purpose (tests): the `at`-th burst delivery (1-based) of one connection dropped, swapped with the next, or received twice. */
interface Fault {
  kind: "drop" | "swap" | "duplicate";
  connection: number;
  at: number;
}

interface ReconnectOptions {
  /** Ports to reconnect to: connection i dials ports[i % n] first, the next one on each failed attempt. */
  ports: number[];
  /** The stock client's minWebSocketRetryTime (3 s). */
  delayMs: number;
  /** The stock client's reconnectJitterRange (2 s). */
  jitterMs: number;
}

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
  /** Record hellos, post ids, closes and reconnects per connection (implies checkSeq). */
  record?: boolean;
  reconnect?: ReconnectOptions;
  /** Speak Socket.IO (engine.io v4 over websocket): connect to the default namespace, answer pings. */
  socketIo?: boolean;
}

/** One socket of a connection. */
interface Sock {
  socket: Socket;
  upgraded: boolean;
  pending: Buffer;
  /** Closed (by a close frame, the peer or us): later events of this socket are ignored. */
  done: boolean;
  /** The reconnect this socket is, if it is one. */
  resume?: ResumeRecord;
}

/** A reconnect after a close: times are Date.now() milliseconds, 0 when it has not happened. */
interface ResumeRecord {
  port: number;
  /** The close it follows. */
  closedAt: number;
  dialAt: number;
  upgradeAt: number;
  firstFrameAt: number;
  /** Whether that first frame was a hello (a new connection: the client must resync). */
  hello: boolean;
}

interface Conn {
  index: number;
  /** Its place among all this client's connections (the ledger's connection number). */
  slot: number;
  req: OpenRequest;
  cur?: Sock;
  frames: number;
  /** The seq the next event must carry. */
  nextSeq: number;
  seqErrors: number;
  hellos: number;
  connectionIds: string[];
  /** Interned post ids (see `postIds`), in arrival order. */
  posts: number[];
  closes: { at: number; code: number }[];
  resumes: ResumeRecord[];
  /** Reconnect attempts in a row that failed (the stock client's connectFailCount). */
  fails: number;
  dialFailures: number;
  timer?: NodeJS.Timeout;
}

const conns: Conn[] = [];
let total = 0;
/** Text frames of `posted` events (the burst), apart from hellos and status changes. */
let posted = 0;
const POSTED_PREFIX = Buffer.from('{"event":"posted"');
const HELLO_PREFIX = Buffer.from('{"event":"hello"');
const SIO_CONNECT = Buffer.from("40");
const EIO_PONG = Buffer.from("3");
/** A post id in a `posted` frame: the post is a JSON string in `data.post`, its id first. */
const POST_KEY = Buffer.from('"post":"');
const POST_ID_KEY = Buffer.from('\\"id\\":\\"');
/** The client's own id for a post it sends (REST creates: the server assigns `id`, the sender chooses this one beforehand). */
const PENDING_ID_KEY = Buffer.from('\\"pending_post_id\\":\\"');
/** The burst's ids are pending_post_ids, not post ids (`expect` with `byPendingId`). */
let byPendingId = false;
const CONNECTION_ID_KEY = Buffer.from('"connection_id":"');
const ID_LENGTH = 26;
let checkSeq = false;
let recording = false;
let stopping = false;
/** Events whose seq was not the connection's next one. */
let seqErrors = 0;
const SEQ_KEY = Buffer.from('"seq":');
/** The burst being checked, and a fault to make in it. */
let ledger: DeliveryLedger | undefined;
let fault: Fault | undefined;
let faultArrivals = 0;
let held: Buffer | undefined;
/** Post ids seen, interned so that each connection keeps numbers. */
const postIds: string[] = [];
const postIndex = new Map<string, number>();
/** The stock client's maxWebSocketFails and maxWebSocketRetryTime. */
const MAX_FAILS = 7;
const MAX_RETRY_MS = 300_000;

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

function startsWith(frame: Buffer, prefix: Buffer): boolean {
  return frame.length >= prefix.length && prefix.equals(frame.subarray(0, prefix.length));
}

/** The 26-character id after `key` (searched from `from`), or "" when there is none. */
function idAfter(frame: Buffer, key: Buffer, from: number): string {
  const i = frame.indexOf(key, from);
  if (i < 0 || i + key.length + ID_LENGTH > frame.length) return "";
  return frame.toString("latin1", i + key.length, i + key.length + ID_LENGTH);
}

/** Where the post id of a `posted` frame starts, or -1. */
function postIdAt(frame: Buffer): number {
  const at = frame.indexOf(POST_KEY);
  if (at < 0) return -1;
  const key = byPendingId ? PENDING_ID_KEY : POST_ID_KEY;
  const i = frame.indexOf(key, at + POST_KEY.length);
  return i < 0 ? -1 : i + key.length;
}

function internPost(id: string): number {
  let n = postIndex.get(id);
  if (n === undefined) {
    n = postIds.length;
    postIds.push(id);
    postIndex.set(id, n);
  }
  return n;
}

/** A masked client frame with a short payload (< 126 bytes): control frames, engine.io's packets. */
function maskedControl(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ mask[i % 4]!;
  return out;
}

/** What `record` keeps of a text frame: hellos and their connection ids, post ids, the first frame of a reconnect. */
function note(c: Conn, s: Sock, frame: Buffer): void {
  const hello = startsWith(frame, HELLO_PREFIX);
  if (s.resume && s.resume.firstFrameAt === 0) {
    s.resume.firstFrameAt = Date.now();
    s.resume.hello = hello;
  }
  if (hello) {
    c.hellos++;
    const id = idAfter(frame, CONNECTION_ID_KEY, 0);
    // A hello with a new connection id starts its seq again at 0, as the stock client does.
    if (id !== c.connectionIds.at(-1)) {
      c.connectionIds.push(id);
      c.nextSeq = 0;
    }
  } else if (startsWith(frame, POSTED_PREFIX)) {
    const at = frame.indexOf(POST_KEY);
    const id = at < 0 ? "" : idAfter(frame, POST_ID_KEY, at + POST_KEY.length);
    if (id) c.posts.push(internPost(id));
  }
}

function consume(c: Conn, s: Sock): void {
  let buf = s.pending;
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
      const frame = buf.subarray(off, off + len);
      if (fault !== undefined && c.slot === fault.connection && startsWith(frame, POSTED_PREFIX)) faulty(c, s, frame, opcode, fault);
      else received(c, s, frame, opcode);
    } else if (opcode === 9) {
      s.socket.write(maskedControl(10, buf.subarray(off, off + len)));
    } else if (opcode === 8) {
      const payload = buf.subarray(off, off + Math.min(len, 2));
      // The closing handshake's answer, then the socket is done with.
      s.socket.end(maskedControl(8, payload));
      closed(c, s, payload.length === 2 ? payload.readUInt16BE(0) : 1005);
      return;
    }
    buf = buf.subarray(off + len);
  }
  s.pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
}

/** A data frame as received. */
function received(c: Conn, s: Sock, frame: Buffer, opcode: number): void {
  c.frames++;
  total++;
  if (c.req.socketIo === true && opcode === 1) engineIo(s, frame);
  if (startsWith(frame, POSTED_PREFIX)) {
    posted++;
    ledger?.record(c.slot, frame, postIdAt(frame));
  }
  if (recording && opcode === 1) note(c, s, frame);
  if (checkSeq && opcode === 1) {
    const seq = tailSeq(frame);
    if (seq >= 0) {
      if (seq !== c.nextSeq) {
        seqErrors++;
        c.seqErrors++;
      }
      c.nextSeq = seq + 1;
    }
  }
}

/**
 * Socket.IO's wire protocol (engine.io v4, websocket transport) as far as a listener needs it:
 * the engine's open packet (`0{...}`) is answered with a connect to the default namespace
 * (`40`), a ping (`2`) with a pong (`3`).
 */
function engineIo(s: Sock, frame: Buffer): void {
  if (frame[0] === 0x30 && frame[1] === 0x7b) s.socket.write(maskedControl(1, SIO_CONNECT));
  else if (frame.length === 1 && frame[0] === 0x32) s.socket.write(maskedControl(1, EIO_PONG));
}

/** A `posted` frame of the connection the fault is made on: the chosen one dropped, held back until after the next, or received twice. */
function faulty(c: Conn, s: Sock, frame: Buffer, opcode: number, f: Fault): void {
  faultArrivals++;
  if (faultArrivals === f.at) {
    if (f.kind === "duplicate") received(c, s, frame, opcode);
    else {
      if (f.kind === "swap") held = Buffer.from(frame);
      return;
    }
  }
  received(c, s, frame, opcode);
  if (held && faultArrivals === f.at + 1) {
    const h = held;
    held = undefined;
    received(c, s, h, opcode);
  }
}

/** A live socket ended (close frame, or the TCP connection went): note it and schedule the reconnect. */
function closed(c: Conn, s: Sock, code: number): void {
  if (s.done) return;
  s.done = true;
  if (stopping) return;
  c.closes.push({ at: Date.now(), code });
  if (c.req.reconnect) scheduleReconnect(c, c.closes.at(-1)!.at);
}

/** The stock client's onclose: 3 s, times fails² past 7 failures (at most 5 min), plus jitter. */
function scheduleReconnect(c: Conn, closedAt: number): void {
  const r = c.req.reconnect!;
  c.fails++;
  let wait = r.delayMs;
  if (c.fails > MAX_FAILS) wait = Math.min(wait * c.fails * c.fails, MAX_RETRY_MS);
  wait += Math.random() * r.jitterMs;
  c.timer = setTimeout(() => {
    c.timer = undefined;
    if (stopping) return;
    const port = r.ports[(c.index + c.fails - 1) % r.ports.length]!;
    const path = `${c.req.path.split("?")[0]!}?connection_id=${c.connectionIds.at(-1) ?? ""}&sequence_number=${String(c.nextSeq)}&disconnect_err_code=${String(c.closes.at(-1)?.code ?? "")}`;
    const resume: ResumeRecord = { port, closedAt, dialAt: Date.now(), upgradeAt: 0, firstFrameAt: 0, hello: false };
    dial(c, port, path, resume).then(
      () => {
        c.fails = 0;
        c.resumes.push(resume);
      },
      () => {
        c.dialFailures++;
        if (!stopping) scheduleReconnect(c, closedAt);
      },
    );
  }, wait);
}

/** Opens a socket for the connection; resolves once upgraded, rejects when that fails. */
function dial(c: Conn, port: number, path: string, resume?: ResumeRecord): Promise<void> {
  const req = c.req;
  return new Promise((resolve, reject) => {
    const local = req.localAddresses?.[c.index % req.localAddresses.length];
    const socket = connect({ host: req.host, port, ...(local ? { localAddress: local } : {}) });
    const s: Sock = { socket, upgraded: false, pending: Buffer.alloc(0), done: false, ...(resume ? { resume } : {}) };
    const fail = (e: Error) => {
      if (s.upgraded) return;
      s.done = true;
      socket.destroy();
      reject(e);
    };
    socket.setNoDelay(true);
    socket.once("connect", () => {
      const extra = Object.entries(req.headers[c.index] ?? {})
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("");
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${req.host}:${String(port)}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      );
    });
    socket.on("data", (d: Buffer) => {
      if (s.done) return;
      if (!s.upgraded) {
        const all = Buffer.concat([s.pending, d]);
        const end = all.indexOf("\r\n\r\n");
        if (end < 0) {
          s.pending = all;
          return;
        }
        if (!all.subarray(0, 12).toString().includes("101")) {
          fail(new Error(`upgrade refused: ${all.subarray(0, end).toString().split("\r\n")[0]!}`));
          return;
        }
        s.upgraded = true;
        if (resume) resume.upgradeAt = Date.now();
        s.pending = all.subarray(end + 4);
        c.cur = s;
        resolve();
        consume(c, s);
        return;
      }
      s.pending = s.pending.length > 0 ? Buffer.concat([s.pending, d]) : d;
      consume(c, s);
    });
    socket.once("error", (e) => fail(e));
    socket.once("close", () => {
      if (!s.upgraded) fail(new Error("closed before the upgrade"));
      else closed(c, s, 1006);
    });
  });
}

function newConn(req: OpenRequest, index: number, slot: number): Conn {
  return {
    index,
    slot,
    req,
    frames: 0,
    nextSeq: 0,
    seqErrors: 0,
    hellos: 0,
    connectionIds: [],
    posts: [],
    closes: [],
    resumes: [],
    fails: 0,
    dialFailures: 0,
  };
}

/** Connections that closed at least once and whose latest reconnect has received a frame. */
function back(): number {
  let n = 0;
  for (const c of conns) {
    const r = c.resumes.at(-1);
    if (c.closes.length > 0 && r && r.closedAt === c.closes.at(-1)!.at && r.firstFrameAt > 0) n++;
  }
  return n;
}

process.on("message", (msg: { type: string } & Partial<OpenRequest>) => {
  void (async () => {
    if (msg.type === "open") {
      const req = msg as OpenRequest;
      checkSeq = req.checkSeq === true || req.record === true;
      recording = req.record === true;
      const started = Date.now();
      const batch = 200;
      const opening = req.headers.map((_, i) => newConn(req, i, conns.length + i));
      try {
        for (let i = 0; i < opening.length; i += batch) {
          await Promise.all(opening.slice(i, i + batch).map((c) => dial(c, req.port, req.path)));
          process.send!({ type: "opening", count: Math.min(opening.length, i + batch) });
        }
        conns.push(...opening);
        process.send!({ type: "opened", count: opening.length, ms: Date.now() - started });
      } catch (e: unknown) {
        process.send!({ type: "error", error: String(e) });
      }
    } else if (msg.type === "count") {
      let min = Infinity;
      let hellos = 0;
      let closedOnce = 0;
      for (const c of conns) {
        min = Math.min(min, c.frames);
        hellos += c.hellos;
        if (c.closes.length > 0) closedOnce++;
      }
      process.send!({
        type: "count",
        total,
        posted,
        min: conns.length ? min : 0,
        seqErrors,
        hellos,
        closed: closedOnce,
        back: back(),
        cpu: process.cpuUsage(),
      });
    } else if (msg.type === "expect") {
      const m = msg as unknown as { ids: string[]; fault?: Fault; timed?: boolean; byPendingId?: boolean; order?: LedgerOrder; groups?: LedgerGroups };
      ledger = new DeliveryLedger(m.ids, conns.length, m.timed, m.order, m.groups);
      byPendingId = m.byPendingId === true;
      fault = m.fault;
      faultArrivals = 0;
      held = undefined;
      process.send!({ type: "expecting" });
    } else if (msg.type === "ledger") {
      process.send!({ type: "ledger", summary: ledger?.summary() });
    } else if (msg.type === "arrivals") {
      process.send!({ type: "arrivals", at: ledger ? Array.from(ledger.arrivals()) : undefined });
    } else if (msg.type === "report") {
      process.send!({
        type: "report",
        postIds,
        conns: conns.map((c) => ({
          hellos: c.hellos,
          connectionIds: c.connectionIds,
          seqErrors: c.seqErrors,
          events: c.nextSeq,
          posts: c.posts,
          closes: c.closes,
          resumes: c.resumes,
          dialFailures: c.dialFailures,
          open: c.cur !== undefined && !c.cur.done,
        })),
      });
    } else if (msg.type === "pause" || msg.type === "resume") {
      // Stop (or start again) reading the given connections: their frames stay in the kernel's
      // buffers, then in the server's, as a client that stopped reading leaves them.
      const m = msg as unknown as { connections: number[] };
      for (const k of m.connections) {
        const s = conns[k]?.cur;
        if (s && !s.done) {
          if (msg.type === "pause") s.socket.pause();
          else s.socket.resume();
        }
      }
      process.send!({ type: msg.type === "pause" ? "paused" : "resumed" });
    } else if (msg.type === "close") {
      stopping = true;
      for (const c of conns) {
        if (c.timer) clearTimeout(c.timer);
        c.cur?.socket.destroy();
      }
      process.send!({ type: "closed" });
      process.exit(0);
    }
  })();
});
process.send!({ type: "ready" });
