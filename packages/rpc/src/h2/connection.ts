/**
 * The server side of one HTTP/2 connection (RFC 9113) over a plain TCP socket, as gRPC uses
 * it: requests arrive as streams whose header fields, DATA payloads and end the application
 * sees through a ServerStream; answers go back as header blocks (HPACK-encoded by the caller),
 * DATA and trailers.
 *
 * Why not node:http2: every stream there is a Duplex with its own header objects, listeners
 * and native handle, which survive young-generation collections and turn into GC pauses of
 * several milliseconds at a few thousand calls per second. Here a stream is one small object,
 * frames are parsed from the socket's chunks in place, and everything answered in one turn of
 * the event loop leaves in one write.
 *
 * What it enforces: the preface and SETTINGS exchange (within a deadline), stream id rules,
 * frame sizes, both directions of flow control (our windows are `windowBytes` per stream and
 * per connection, and credit goes back only for bytes the application has taken, against
 * budgets of request bytes per connection and per server), CONTINUATION sequences (a frame
 * count and a deadline per header block), a header list limit, the request header rules of
 * RFC 9113 §8.2-8.3 (header-rules.ts), a concurrent stream limit that counts a stream until its
 * handler is done (REFUSED_STREAM beyond it), one budget of stream resets whichever side sends
 * them, budgets of SETTINGS, pings and control frames owed to a peer that does not read,
 * keepalive pings, an idle timeout and graceful GOAWAY (limits.ts has them all). A protocol
 * violation ends the connection with GOAWAY and the matching error code; it never throws out
 * of the socket's handlers.
 */
import type { Socket } from "node:net";
import {
  ConnectionError,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_WINDOW_BYTES,
  FRAME_HEADER_BYTES,
  Flag,
  FrameType,
  H2Error,
  MAX_WINDOW_BYTES,
  PREFACE,
  Setting,
} from "./frames.js";
import { requestHeaderError, trailerHeaderError } from "./header-rules.js";
import { HeaderListTooLarge, HpackDecoder, HpackError } from "./hpack.js";
import { ByteBudget, TokenBucket, type H2Limits } from "./limits.js";
import { StreamTable } from "./stream-table.js";

export interface H2ConnectionOptions {
  /** Our initial window per stream, and the connection's receive window. */
  readonly windowBytes: number;
  /** What a peer may hold or make us do (limits.ts). */
  readonly limits: H2Limits;
  /** Request bytes held over every connection of the server (limits.serverBufferBytes). */
  readonly serverBuffer: ByteBudget;
  /** Ping the peer once a period this long (to twice as long) passes without a frame from it; 0: never. */
  readonly keepaliveMs: number;
  /** Close the connection when a keepalive ping is not answered within this. */
  readonly keepaliveTimeoutMs: number;
  /** A new request stream: its headers are complete. */
  readonly onStream: (stream: ServerStream) => void;
  /** The connection is gone (after GOAWAY or on error); streams were reset before. */
  readonly onClose?: (conn: H2Connection) => void;
}

/** Compressed header blocks (with CONTINUATION) larger than this end the connection. */
const MAX_HEADER_BLOCK_FACTOR = 4;
/** What a stream costs against the request byte budgets besides its header list and messages. */
const STREAM_OVERHEAD_BYTES = 512;
/** The output batch's first buffer: a connection that never answers costs no more. */
const FIRST_STAGE_BYTES = 256;
/** A connection closed gracefully whose peer does not take our last bytes is destroyed after this. */
const CLOSE_LINGER_MS = 5_000;
/** Output held by the socket above which we stop reading new frames until it drains. */
const WRITE_HIGH_WATER_BYTES = 16 << 20;
/** DATA payloads up to this size are copied into the output batch; larger go out as is. */
const COPY_PAYLOAD_BYTES = 16 << 10;
/** The output batch's buffer (a frame larger than this gets a stage of its own size). */
const STAGE_BYTES = 64 << 10;

/** Writes a DATA payload in place (ServerStream.writeWith); returns where it stopped. */
export interface PayloadWriter {
  writeTo(out: Buffer, at: number): number;
}

/** One request stream. The handler sets the callbacks; the answer goes through the methods. */
export class ServerStream {
  /** Request header fields in order: name, value, name, value... (names lower-case). */
  readonly headers: string[];
  /** The request's header list exceeded our limit: answer with an error and nothing else. */
  headerListTooLarge = false;
  onData: ((chunk: Buffer) => void) | undefined = undefined;
  onEnd: (() => void) | undefined = undefined;
  /** The peer reset the stream or the connection ended before the answer was complete. */
  onReset: ((code: H2Error) => void) | undefined = undefined;

  /** @internal */ remoteEnded = false;
  /** @internal */ localEnded = false;
  /** @internal */ closed = false;
  /** @internal */ sendWindow: number;
  /** @internal */ recvWindow: number;
  /** @internal */ recvUnacked = 0;
  /** @internal */ pending: Buffer[] = [];
  /** @internal */ pendingTrailers: Buffer | undefined = undefined;
  /** @internal Bytes held against the request budgets (header list, overhead, messages charged). */
  charged = 0;
  /** @internal A handler runs for the stream: it counts against the stream limit until release(). */
  held = false;
  /** @internal Closed and released: its budget was given back. */
  settled = false;

  constructor(
    readonly id: number,
    headers: string[],
    private readonly conn: H2Connection,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.headers = headers;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** The first value of a header field (lower-case name). */
  header(name: string): string | undefined {
    const h = this.headers;
    for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
    return undefined;
  }

  /** Sends the response headers; with `endStream`, they are the whole answer (trailers-only). */
  respond(block: Buffer, endStream: boolean): void {
    if (this.closed || this.localEnded) return;
    this.conn.sendHeaders(this, block, endStream);
  }

  /** Queues DATA; it leaves as flow control allows. */
  write(payload: Buffer): void {
    if (this.closed || this.localEnded || payload.length === 0) return;
    this.pending.push(payload);
    this.conn.pump(this);
  }

  /**
   * Queues DATA of `length` bytes that `writer` produces: written straight into the output
   * batch when flow control lets all of it go now and nothing is queued before it, otherwise
   * into a buffer of its own that is queued as write() queues. Throws, sending nothing, when
   * the writer does not write exactly `length` bytes.
   */
  writeWith(length: number, writer: PayloadWriter): void {
    if (this.closed || this.localEnded || length === 0) return;
    if (this.pending.length === 0 && this.conn.writeNow(this, length, writer)) return;
    const b = Buffer.allocUnsafe(length);
    if (writer.writeTo(b, 0) !== length) throw new Error(`a payload writer wrote other than the ${length} bytes it declared`);
    this.write(b);
  }

  /** Ends the answer with trailers, after all queued DATA. */
  end(trailers: Buffer): void {
    if (this.closed || this.localEnded) return;
    this.pendingTrailers = trailers;
    this.conn.pump(this);
  }

  /** Abandons the stream with RST_STREAM. */
  reset(code: H2Error): void {
    if (this.closed) return;
    this.conn.resetStream(this, code);
  }

  /**
   * The application has taken `n` bytes that onData gave it: flow-control credit for them
   * goes back to the peer. Bytes not taken keep the window closed.
   */
  consume(n: number): void {
    this.conn.consumed(this, n);
  }

  /**
   * Holds `n` more request bytes against the connection's and the server's budgets; false (and
   * nothing held) when either would go over. What a stream holds is given back when it is
   * closed and released, or earlier through uncharge().
   */
  charge(n: number): boolean {
    return this.conn.charge(this, n);
  }

  uncharge(n: number): void {
    this.conn.uncharge(this, Math.min(n, this.charged));
  }

  /** A handler starts: the stream counts against the concurrent stream limit until release(), closed or not. */
  hold(): void {
    this.held = true;
  }

  /** The handler is done. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.closed) this.conn.settle(this, true);
  }

  /** The connection's socket (the caller's address). */
  get socket(): Socket {
    return this.conn.socket;
  }
}

export class H2Connection {
  private readonly decoder = new HpackDecoder();
  private readonly streams = new StreamTable<ServerStream>();
  private readonly blocked = new Set<ServerStream>();
  private input: Buffer | undefined;
  private prefaceDone = false;
  private settingsSeen = false;
  private lastStreamId = 0;
  /** GOAWAY sent: no new streams; set to the last stream we serve. */
  private goawayLast = -1;
  private destroyed = false;

  // Peer settings.
  private peerInitialWindow = DEFAULT_WINDOW_BYTES;
  private peerMaxFrame = DEFAULT_MAX_FRAME_BYTES;
  private connSendWindow = DEFAULT_WINDOW_BYTES;

  // Our receive side.
  private connRecvWindow: number;
  private connRecvUnacked = 0;

  // A header block in CONTINUATION.
  private contStream = 0;
  private contFlags = 0;
  private contParts: Buffer[] = [];
  private contBytes = 0;
  private contFrames = 0;
  private contStartedAt = 0;

  // Abuse budgets.
  private readonly limits: H2Limits;
  /** Request bytes this connection's streams hold. */
  private readonly buffer: ByteBudget;
  /** Streams closed whose handler still runs: they count against maxConcurrentStreams. */
  private lingering = 0;
  private readonly resets: TokenBucket;
  private readonly settingsFrames: TokenBucket;
  /** Control frames (acks, RST_STREAM) batched or queued in the socket since it last had nothing queued. */
  private controlQueued = 0;
  private pingStrikes = 0;
  private lastPingAt = 0;
  private readonly openedAt = Date.now();
  /** Since when the connection has had no stream nor handler (0: it has some). */
  private idleSince = this.openedAt;

  // Keepalive.
  /** Some input arrived since the last keepalive tick (a flag, so input costs no clock read). */
  private heard = true;
  private keepalive: NodeJS.Timeout | undefined;
  private pingTimeout: NodeJS.Timeout | undefined;

  // Output batch.
  private out: Buffer[] = [];
  private outBytes = 0;
  private stage = Buffer.allocUnsafe(FIRST_STAGE_BYTES);
  private stagePos = 0;
  private stageStart = 0;
  private flushScheduled = false;
  private readonly flushNow = (): void => this.flush();

  constructor(
    readonly socket: Socket,
    private readonly o: H2ConnectionOptions,
  ) {
    this.connRecvWindow = o.windowBytes;
    this.limits = o.limits;
    this.buffer = new ByteBudget(o.limits.connectionBufferBytes);
    this.resets = new TokenBucket(o.limits.resetBurst, o.limits.resetsPerSecond);
    this.settingsFrames = new TokenBucket(o.limits.settingsBurst, o.limits.settingsPerSecond);
    socket.setNoDelay(true);
    // Our SETTINGS, then the connection window opened to windowBytes.
    const settings: [Setting, number][] = [
      [Setting.MAX_CONCURRENT_STREAMS, o.limits.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, o.windowBytes],
      [Setting.MAX_HEADER_LIST_SIZE, o.limits.maxHeaderListBytes],
    ];
    const p = this.frame(settings.length * 6, FrameType.SETTINGS, 0, 0);
    settings.forEach(([id, v], i) => {
      this.stage.writeUInt16BE(id, p + i * 6);
      this.stage.writeUInt32BE(v, p + i * 6 + 2);
    });
    if (o.windowBytes > DEFAULT_WINDOW_BYTES) this.windowUpdate(0, o.windowBytes - DEFAULT_WINDOW_BYTES);
    this.flush();

    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("drain", () => {
      this.controlQueued = 0;
      if (!this.destroyed) socket.resume();
    });
    socket.on("error", () => this.destroy());
    socket.on("close", () => this.destroy());
    if (o.keepaliveMs > 0) {
      this.keepalive = setInterval(() => this.checkKeepalive(), o.keepaliveMs);
      this.keepalive.unref();
    }
  }

  /**
   * Graceful end: GOAWAY naming the last stream we will serve; the connection closes once
   * those streams are done. Streams the peer opens later are not served (it retries them).
   */
  goaway(): void {
    if (this.destroyed || this.goawayLast >= 0) return;
    this.goawayLast = this.lastStreamId;
    this.sendGoaway(H2Error.NO_ERROR, "");
    this.flush();
    this.closeIfIdle();
  }

  /** Ends at once: open streams are reset (their handlers told), the socket destroyed. */
  destroy(): void {
    if (this.destroyed) return;
    this.markDestroyed();
    const open = this.streams.values();
    this.streams.clear();
    this.blocked.clear();
    for (const s of open) {
      s.closed = true;
      if (!s.held) this.settle(s, false);
      else this.lingering++;
      s.onReset?.(H2Error.CANCEL);
    }
    if (!this.socket.destroyed) {
      if (this.outBytes > 0 || this.stagePos > this.stageStart) this.flush(true);
      this.socket.destroySoon();
      this.lingerThenDestroy();
    }
    this.o.onClose?.(this);
  }

  /** A peer that does not take our last bytes does not keep the socket: it is destroyed after CLOSE_LINGER_MS. */
  private lingerThenDestroy(): void {
    const socket = this.socket;
    setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
  }

  /** Streams open, and handlers still running for closed ones (what maxConcurrentStreams bounds). */
  get busy(): number {
    return this.streams.size + this.lingering;
  }

  /**
   * The server's periodic check (h2-server.ts), every second or so: the deadlines of the preface
   * and of an unfinished header block, and the idle timeout.
   */
  tick(now: number): void {
    if (this.destroyed) return;
    const l = this.limits;
    if (!this.settingsSeen) {
      if (now - this.openedAt > l.prefaceTimeoutMs) this.fail(new ConnectionError(H2Error.PROTOCOL_ERROR, "no preface and SETTINGS in time"));
      return;
    }
    if (this.contStream !== 0 && now - this.contStartedAt > l.headerBlockTimeoutMs) {
      this.fail(new ConnectionError(H2Error.ENHANCE_YOUR_CALM, "header block not finished in time"));
      return;
    }
    if (this.busy > 0) {
      this.idleSince = 0;
    } else if (this.idleSince === 0) {
      this.idleSince = now;
    } else if (l.idleTimeoutMs > 0 && now - this.idleSince > l.idleTimeoutMs) {
      this.goaway();
    }
  }

  /** @internal Credit for `n` bytes of the stream the application has taken (ServerStream.consume). */
  consumed(s: ServerStream, n: number): void {
    if (n <= 0 || this.destroyed) return;
    this.connConsumed(n);
    if (s.closed || s.remoteEnded) return;
    s.recvUnacked += n;
    if (s.recvUnacked >= this.o.windowBytes >>> 1) {
      this.windowUpdate(s.id, s.recvUnacked);
      s.recvWindow += s.recvUnacked;
      s.recvUnacked = 0;
      this.scheduleFlush();
    }
  }

  private connConsumed(n: number): void {
    this.connRecvUnacked += n;
    if (this.connRecvUnacked >= this.o.windowBytes >>> 1) {
      this.windowUpdate(0, this.connRecvUnacked);
      this.connRecvWindow += this.connRecvUnacked;
      this.connRecvUnacked = 0;
      this.scheduleFlush();
    }
  }

  /** @internal */
  charge(s: ServerStream, n: number): boolean {
    const server = this.o.serverBuffer;
    if (this.buffer.used + n > this.buffer.limit || server.used + n > server.limit) return false;
    this.buffer.used += n;
    server.used += n;
    s.charged += n;
    return true;
  }

  /** @internal */
  uncharge(s: ServerStream, n: number): void {
    this.buffer.used -= n;
    this.o.serverBuffer.used -= n;
    s.charged -= n;
  }

  /** @internal A stream closed and its handler done: its budget goes back, it no longer counts. */
  settle(s: ServerStream, lingered: boolean): void {
    if (s.settled) return;
    s.settled = true;
    if (lingered) this.lingering--;
    if (s.charged > 0) this.uncharge(s, s.charged);
  }

  /** No more input, timers or streams; output already batched may still be flushed. */
  private markDestroyed(): void {
    this.destroyed = true;
    if (this.keepalive) clearInterval(this.keepalive);
    if (this.pingTimeout) clearTimeout(this.pingTimeout);
  }

  // ---------------------------------------------------------------- input

  private receive(chunk: Buffer): void {
    if (this.destroyed) return;
    this.heard = true;
    const buf = this.input ? Buffer.concat([this.input, chunk]) : chunk;
    this.input = undefined;
    let p = 0;
    try {
      if (!this.prefaceDone) {
        const n = Math.min(buf.length, PREFACE.length);
        if (buf.compare(PREFACE, 0, n, 0, n) !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "bad connection preface");
        if (buf.length < PREFACE.length) {
          this.input = Buffer.from(buf);
          return;
        }
        p = PREFACE.length;
        this.prefaceDone = true;
      }
      while (buf.length - p >= FRAME_HEADER_BYTES && !this.destroyed) {
        const len = (buf[p]! << 16) | (buf[p + 1]! << 8) | buf[p + 2]!;
        if (len > DEFAULT_MAX_FRAME_BYTES) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${len} bytes`);
        if (buf.length - p < FRAME_HEADER_BYTES + len) break;
        const type = buf[p + 3]!;
        const flags = buf[p + 4]!;
        const id = buf.readUInt32BE(p + 5) & 0x7fffffff;
        const start = p + FRAME_HEADER_BYTES;
        p = start + len;
        this.onFrame(type, flags, id, buf, start, len);
        if (this.controlQueued > this.limits.maxQueuedControlFrames) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, "control frames not read");
      }
      if (p < buf.length && !this.destroyed) this.input = Buffer.from(buf.subarray(p));
    } catch (e: unknown) {
      this.fail(e);
      return;
    }
    if (this.socket.writableLength > WRITE_HIGH_WATER_BYTES) this.socket.pause();
    this.flush();
  }

  private fail(e: unknown): void {
    const code = e instanceof ConnectionError ? e.code : e instanceof HpackError ? H2Error.COMPRESSION_ERROR : H2Error.INTERNAL_ERROR;
    const msg = e instanceof Error ? e.message : String(e);
    if (!this.destroyed && !this.socket.destroyed) {
      this.sendGoaway(code, msg);
      this.flush(true);
    }
    this.destroy();
  }

  private onFrame(type: FrameType, flags: number, id: number, b: Buffer, start: number, len: number): void {
    if (this.contStream !== 0 && type !== FrameType.CONTINUATION) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, "expected CONTINUATION");
    }
    if (!this.settingsSeen && type !== FrameType.SETTINGS) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "first frame must be SETTINGS");
    switch (type) {
      case FrameType.DATA:
        return this.onData(flags, id, b, start, len);
      case FrameType.HEADERS:
        return this.onHeaders(flags, id, b, start, len);
      case FrameType.CONTINUATION:
        return this.onContinuation(flags, id, b, start, len);
      case FrameType.PRIORITY:
        if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "PRIORITY on stream 0");
        if (len !== 5) this.streamError(id, H2Error.FRAME_SIZE_ERROR);
        return;
      case FrameType.RST_STREAM:
        return this.onRst(id, b, start, len);
      case FrameType.SETTINGS:
        return this.onSettings(flags, id, b, start, len);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      case FrameType.PING:
        return this.onPing(flags, id, b, start, len);
      case FrameType.GOAWAY:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "GOAWAY on a stream");
        if (len < 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "short GOAWAY");
        // The peer is leaving: finish what is open, accept nothing new.
        if (this.goawayLast < 0) this.goawayLast = this.lastStreamId;
        this.closeIfIdle();
        return;
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(id, b, start, len);
      default:
        return; // Unknown frame types are ignored.
    }
  }

  private onData(flags: number, id: number, b: Buffer, start: number, len: number): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "DATA on stream 0");
    if (len > this.connRecvWindow) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, "DATA beyond the connection window");
    this.connRecvWindow -= len;
    const s = this.streams.get(id);
    if (s === undefined || s.remoteEnded) {
      if (id > this.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "DATA on an idle stream");
      this.connConsumed(len);
      if (s !== undefined) this.streamError(id, H2Error.STREAM_CLOSED);
      return; // A stream we reset or finished: frames in flight are dropped.
    }
    if (len > s.recvWindow) {
      this.connConsumed(len);
      this.streamError(id, H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    s.recvWindow -= len;
    let from = start;
    let to = start + len;
    if (flags & Flag.PADDED) {
      if (len < 1) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "padded DATA without pad length");
      const pad = b[start]!;
      if (pad >= len) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "padding exceeds DATA");
      from = start + 1;
      to = start + len - pad;
    }
    const end = (flags & Flag.END_STREAM) !== 0;
    // Credit goes back as the application takes the bytes (ServerStream.consume); padding and
    // bytes nobody listens for are taken at once.
    if (len > to - from) this.consumed(s, len - (to - from));
    if (to > from) {
      if (s.onData !== undefined) s.onData(b.subarray(from, to));
      else this.consumed(s, to - from);
    }
    if (end && !s.closed) this.remoteEnd(s);
  }

  private onHeaders(flags: number, id: number, b: Buffer, start: number, len: number): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "HEADERS on stream 0");
    let from = start;
    let to = start + len;
    if (flags & Flag.PADDED) {
      if (len < 1) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "padded HEADERS without pad length");
      const pad = b[start]!;
      from += 1;
      to -= pad;
    }
    if (flags & Flag.PRIORITY) from += 5;
    if (to < from) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "HEADERS padding exceeds the frame");
    if (flags & Flag.END_HEADERS) {
      this.onHeaderBlock(id, flags, b.subarray(from, to));
      return;
    }
    this.contStream = id;
    this.contFlags = flags;
    this.contParts = [Buffer.from(b.subarray(from, to))];
    this.contBytes = to - from;
    this.contFrames = 0;
    this.contStartedAt = Date.now();
  }

  private onContinuation(flags: number, id: number, b: Buffer, start: number, len: number): void {
    if (this.contStream === 0 || id !== this.contStream) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "unexpected CONTINUATION");
    this.contBytes += len;
    // Counted by frames as well as bytes: empty CONTINUATION frames cost us a frame each and no bytes.
    if (++this.contFrames > this.limits.maxContinuationFrames) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, "too many CONTINUATION frames");
    if (this.contBytes > this.limits.maxHeaderListBytes * MAX_HEADER_BLOCK_FACTOR)
      throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, "header block too large");
    this.contParts.push(Buffer.from(b.subarray(start, start + len)));
    if (flags & Flag.END_HEADERS) {
      const block = Buffer.concat(this.contParts);
      const streamFlags = this.contFlags;
      this.contStream = 0;
      this.contParts = [];
      this.contBytes = 0;
      this.onHeaderBlock(id, streamFlags, block);
    }
  }

  private onHeaderBlock(id: number, flags: number, block: Buffer): void {
    // Every block goes through the decoder, served or not: its table must stay in step.
    const fields: string[] = [];
    let tooLarge = false;
    let listBytes = 0;
    try {
      this.decoder.decode(block, this.limits.maxHeaderListBytes, (name, value) => {
        fields.push(name, value);
        listBytes += name.length + value.length + 32;
      });
    } catch (e: unknown) {
      if (!(e instanceof HeaderListTooLarge)) throw e;
      tooLarge = true;
    }
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // Trailers from the peer: they must end the stream.
      if (existing.remoteEnded) return this.streamError(id, H2Error.STREAM_CLOSED);
      // Trailers without END_STREAM, or malformed ones (RFC 9113 §8.1).
      if (!(flags & Flag.END_STREAM) || trailerHeaderError(fields) !== undefined) return this.streamError(id, H2Error.PROTOCOL_ERROR);
      if (!existing.closed) this.remoteEnd(existing);
      return;
    }
    if ((id & 1) === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "even stream id from a client");
    // A new stream's id must be above every earlier one (§5.1.1); gRPC clients send no trailers
    // after a stream is closed, so a header block here is always a stream id going backwards.
    if (id <= this.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `stream ${id} after stream ${this.lastStreamId}`);
    this.lastStreamId = id;
    // After GOAWAY: ignored; the peer learns from the GOAWAY's last stream id to retry.
    if (this.goawayLast >= 0) return;
    if (!tooLarge && requestHeaderError(fields) !== undefined) {
      this.streamError(id, H2Error.PROTOCOL_ERROR);
      return;
    }
    if (this.busy >= this.limits.maxConcurrentStreams) {
      this.streamError(id, H2Error.REFUSED_STREAM);
      return;
    }
    const s = new ServerStream(id, fields, this, this.peerInitialWindow, this.o.windowBytes);
    if (!this.charge(s, STREAM_OVERHEAD_BYTES + listBytes)) {
      this.streamError(id, H2Error.REFUSED_STREAM);
      return;
    }
    s.headerListTooLarge = tooLarge;
    this.streams.add(s);
    this.o.onStream(s);
    if (flags & Flag.END_STREAM && !s.closed) this.remoteEnd(s);
  }

  private remoteEnd(s: ServerStream): void {
    s.remoteEnded = true;
    s.onEnd?.();
    if (s.localEnded) this.closeStream(s);
  }

  private onRst(id: number, b: Buffer, start: number, len: number): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (len !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "RST_STREAM of the wrong size");
    if (id > this.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "RST_STREAM on an idle stream");
    if (!this.resets.take()) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, "too many stream resets");
    const s = this.streams.get(id);
    if (s === undefined) return;
    this.closeStream(s);
    s.onReset?.(b.readUInt32BE(start));
  }

  private onSettings(flags: number, id: number, b: Buffer, start: number, len: number): void {
    if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (!this.settingsFrames.take()) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, "too many SETTINGS");
    if (flags & Flag.ACK) {
      if (len !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "SETTINGS ack with a payload");
      return;
    }
    if (len % 6 !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "SETTINGS of the wrong size");
    this.settingsSeen = true;
    for (let p = start; p < start + len; p += 6) {
      const key: Setting = b.readUInt16BE(p);
      const v = b.readUInt32BE(p + 2);
      switch (key) {
        case Setting.ENABLE_PUSH:
          if (v > 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "ENABLE_PUSH must be 0 or 1");
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (v > MAX_WINDOW_BYTES) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE too large");
          const delta = v - this.peerInitialWindow;
          this.peerInitialWindow = v;
          for (const s of this.streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW_BYTES) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, "stream window overflow");
          }
          if (delta > 0) for (const s of this.streams.values()) this.pump(s);
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (v < DEFAULT_MAX_FRAME_BYTES || v > 16_777_215) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "MAX_FRAME_SIZE out of range");
          this.peerMaxFrame = v;
          break;
        default:
          // HEADER_TABLE_SIZE: our encoder never uses the dynamic table. The rest are advisory.
          break;
      }
    }
    this.frame(0, FrameType.SETTINGS, Flag.ACK, 0);
    this.controlQueued++;
  }

  private onPing(flags: number, id: number, b: Buffer, start: number, len: number): void {
    if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "PING on a stream");
    if (len !== 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "PING of the wrong size");
    if (flags & Flag.ACK) {
      if (this.pingTimeout) clearTimeout(this.pingTimeout);
      this.pingTimeout = undefined;
      return;
    }
    // Strikes with streams open too (grpc-go's policy; the strikes are forgiven when we send HEADERS).
    const now = Date.now();
    if (now - this.lastPingAt < this.limits.minPingIntervalMs) {
      if (++this.pingStrikes > this.limits.maxPingStrikes) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, "too_many_pings");
    }
    this.lastPingAt = now;
    const p = this.frame(8, FrameType.PING, Flag.ACK, 0);
    b.copy(this.stage, p, start, start + 8);
    this.controlQueued++;
  }

  private onWindowUpdate(id: number, b: Buffer, start: number, len: number): void {
    if (len !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "WINDOW_UPDATE of the wrong size");
    const inc = b.readUInt32BE(start) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      this.connSendWindow += inc;
      if (this.connSendWindow > MAX_WINDOW_BYTES) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, "connection window overflow");
      for (const s of this.blocked) {
        this.blocked.delete(s);
        this.pump(s);
        if (this.connSendWindow <= 0) break;
      }
      return;
    }
    if (id > this.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream");
    const s = this.streams.get(id);
    if (s === undefined) return;
    if (inc === 0) return this.streamError(id, H2Error.PROTOCOL_ERROR);
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW_BYTES) return this.streamError(id, H2Error.FLOW_CONTROL_ERROR);
    this.pump(s);
  }

  /**
   * Resets one stream for a stream-level error; the connection carries on. The peer made us
   * reset it, so it counts against the same budget as the peer's own resets (CVE-2025-8671).
   */
  private streamError(id: number, code: H2Error): void {
    if (!this.resets.take()) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, "too many stream errors and resets");
    const s = this.streams.get(id);
    if (s !== undefined) {
      this.closeStream(s);
      s.onReset?.(code);
    }
    this.rst(id, code);
  }

  private closeStream(s: ServerStream): void {
    if (s.closed) return;
    s.closed = true;
    s.pending.length = 0;
    this.streams.delete(s.id);
    this.blocked.delete(s);
    if (s.held) this.lingering++;
    else this.settle(s, false);
    this.closeIfIdle();
  }

  private closeIfIdle(): void {
    if (this.goawayLast >= 0 && this.streams.size === 0 && !this.destroyed) {
      this.flush(true);
      this.markDestroyed();
      this.socket.end();
      this.lingerThenDestroy();
      this.o.onClose?.(this);
    }
  }

  private checkKeepalive(): void {
    if (this.destroyed || this.pingTimeout) return;
    if (this.heard) {
      this.heard = false;
      return;
    }
    const p = this.frame(8, FrameType.PING, 0, 0);
    this.stage.fill(0, p, p + 8);
    this.scheduleFlush();
    this.pingTimeout = setTimeout(() => this.fail(new ConnectionError(H2Error.NO_ERROR, "keepalive ping not answered")), this.o.keepaliveTimeoutMs);
    this.pingTimeout.unref();
  }

  // ---------------------------------------------------------------- output

  /** @internal */
  sendHeaders(s: ServerStream, block: Buffer, endStream: boolean): void {
    this.pingStrikes = 0;
    const max = this.peerMaxFrame;
    let off = 0;
    let first = true;
    do {
      const n = Math.min(max, block.length - off);
      const last = off + n >= block.length;
      const flags = (last ? Flag.END_HEADERS : 0) | (first && endStream ? Flag.END_STREAM : 0);
      const p = this.frame(n, first ? FrameType.HEADERS : FrameType.CONTINUATION, flags, s.id);
      block.copy(this.stage, p, off, off + n);
      off += n;
      first = false;
    } while (off < block.length);
    if (endStream) this.localEnd(s);
    this.scheduleFlush();
  }

  /** @internal Sends what flow control allows of a stream's queued DATA, then its trailers. */
  pump(s: ServerStream): void {
    if (s.closed) return;
    while (s.pending.length > 0) {
      const chunk = s.pending[0]!;
      const room = Math.min(s.sendWindow, this.connSendWindow, this.peerMaxFrame);
      if (room <= 0) {
        if (this.connSendWindow <= 0) this.blocked.add(s);
        this.scheduleFlush();
        return;
      }
      const n = Math.min(room, chunk.length);
      this.data(s.id, chunk, n);
      s.sendWindow -= n;
      this.connSendWindow -= n;
      if (n === chunk.length) s.pending.shift();
      else s.pending[0] = chunk.subarray(n);
    }
    if (s.pendingTrailers !== undefined) {
      const t = s.pendingTrailers;
      s.pendingTrailers = undefined;
      this.sendHeaders(s, t, true);
      return;
    }
    this.scheduleFlush();
  }

  private localEnd(s: ServerStream): void {
    s.localEnded = true;
    this.closeStream(s);
    // Answered before the request ended: the rest of the request is not wanted.
    if (!s.remoteEnded) this.rst(s.id, H2Error.NO_ERROR);
  }

  /** @internal */
  resetStream(s: ServerStream, code: H2Error): void {
    this.closeStream(s);
    this.rst(s.id, code);
    this.scheduleFlush();
  }

  private rst(id: number, code: H2Error): void {
    const p = this.frame(4, FrameType.RST_STREAM, 0, id);
    this.stage.writeUInt32BE(code, p);
    this.controlQueued++;
  }

  private windowUpdate(id: number, inc: number): void {
    const p = this.frame(4, FrameType.WINDOW_UPDATE, 0, id);
    this.stage.writeUInt32BE(inc, p);
  }

  private sendGoaway(code: H2Error, debug: string): void {
    const d = Buffer.from(debug.slice(0, 256), "utf8");
    const p = this.frame(8 + d.length, FrameType.GOAWAY, 0, 0);
    this.stage.writeUInt32BE(this.goawayLast >= 0 ? this.goawayLast : this.lastStreamId, p);
    this.stage.writeUInt32BE(code, p + 4);
    d.copy(this.stage, p + 8);
  }

  /** @internal Writes a whole DATA payload into the batch if flow control allows it now; false if not. */
  writeNow(s: ServerStream, length: number, writer: PayloadWriter): boolean {
    if (s.closed || length > COPY_PAYLOAD_BYTES || length > Math.min(s.sendWindow, this.connSendWindow, this.peerMaxFrame)) return false;
    const p = this.frame(length, FrameType.DATA, 0, s.id);
    if (writer.writeTo(this.stage, p) !== p + length) {
      this.stagePos = p - FRAME_HEADER_BYTES; // the frame is taken back
      throw new Error(`a payload writer wrote other than the ${length} bytes it declared`);
    }
    s.sendWindow -= length;
    this.connSendWindow -= length;
    this.scheduleFlush();
    return true;
  }

  private data(id: number, chunk: Buffer, n: number): void {
    if (n <= COPY_PAYLOAD_BYTES) {
      const p = this.frame(n, FrameType.DATA, 0, id);
      chunk.copy(this.stage, p, 0, n);
      return;
    }
    this.frame(0, FrameType.DATA, 0, id, n);
    this.seal();
    this.out.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    this.outBytes += n;
  }

  /**
   * Writes a frame header into the output batch and reserves `len` payload bytes after it;
   * returns where the payload goes. `declared` overrides the length field for a payload that
   * follows as a buffer of its own.
   */
  private frame(len: number, type: FrameType, flags: number, id: number, declared = len): number {
    this.reserve(FRAME_HEADER_BYTES + len);
    const b = this.stage;
    let p = this.stagePos;
    b[p] = declared >>> 16;
    b[p + 1] = (declared >>> 8) & 0xff;
    b[p + 2] = declared & 0xff;
    b[p + 3] = type;
    b[p + 4] = flags;
    b.writeUInt32BE(id, p + 5);
    p += FRAME_HEADER_BYTES;
    this.stagePos = p + len;
    return p;
  }

  private reserve(n: number): void {
    if (this.stagePos + n <= this.stage.length) return;
    this.seal();
    // The sealed part is copied out on flush; a fresh stage starts (larger if needed).
    this.stage = Buffer.allocUnsafe(Math.max(STAGE_BYTES, n));
    this.stagePos = 0;
    this.stageStart = 0;
  }

  /** Moves the staged bytes into the batch as a slice of their own. */
  private seal(): void {
    if (this.stagePos > this.stageStart) {
      this.out.push(this.stage.subarray(this.stageStart, this.stagePos));
      this.outBytes += this.stagePos - this.stageStart;
      this.stageStart = this.stagePos;
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushNow);
  }

  /**
   * Writes the batch as it is (the stage's slices and large payloads, corked into one write
   * when there are several). When the socket took it all at once (nothing left queued), the
   * stage is written again from its start; otherwise it belongs to the pending write and a
   * fresh one is taken. No copy and no new buffer per batch in the usual case: buffers made
   * per batch are memory outside the JS heap that V8 counts against its old-generation limit
   * until it frees them, and at tens of megabytes a second that alone set off mark-compact
   * collections every few hundred milliseconds.
   */
  private flush(force = false): void {
    this.flushScheduled = false;
    this.seal();
    if (this.outBytes === 0) return;
    const parts = this.out;
    this.out = [];
    this.outBytes = 0;
    if ((this.destroyed && !force) || this.socket.destroyed) {
      this.stagePos = this.stageStart = 0;
      return;
    }
    if (parts.length === 1) {
      this.socket.write(parts[0]!);
    } else {
      this.socket.cork();
      for (const part of parts) this.socket.write(part);
      this.socket.uncork();
    }
    if (this.socket.writableLength > 0) this.stage = Buffer.allocUnsafe(STAGE_BYTES);
    else this.controlQueued = 0;
    this.stagePos = this.stageStart = 0;
  }
}
