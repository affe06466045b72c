/**
 * The rules a client's bytes must keep before they reach @grpc/grpc-js's server (Node's http2,
 * nghttp2), for what nghttp2 lets through and grpc-js cannot see:
 *   - a new stream's id must be above every one the client opened before (RFC 9113 §5.1.1:
 *     nghttp2 ignores a HEADERS on a lower id without an error), else GOAWAY PROTOCOL_ERROR;
 *   - no DATA or HEADERS on a stream after the client ended it (§5.1, half-closed remote:
 *     nghttp2 answers GOAWAY but grpc-js's handlers run on), else GOAWAY STREAM_CLOSED;
 *   - the gRPC messages that have not finished arriving, over every stream of the connection,
 *     may hold no more than a byte budget (grpc-js buffers each up to its size limit, with no
 *     total), else GOAWAY ENHANCE_YOUR_CALM (resetting the stream that went over instead
 *     let a peer churn through 32 MiB on fresh streams, and the allocator kept 17 MB of it);
 *   - no field value with NUL, CR or LF or whitespace at either end (§8.2.1: nghttp2 serves
 *     them): the stream is reset with PROTOCOL_ERROR, the connection goes on. Every header
 *     block is HPACK-decoded here to see the values, so the decoder's table stays in step.
 * The guard sees the bytes once, in order, and passes them on unchanged, save where it ends a
 * stream (a RST_STREAM put in for the server after the frame that broke a rule) or the
 * connection (nothing after the fault).
 */
import { FrameType, H2Error, Flag, PREFACE } from "../h2/frames.js";
import { badFieldValue } from "../h2/header-rules.js";
import { HeaderListTooLarge, HpackDecoder, HpackError } from "../h2/hpack.js";
import { FrameWalker } from "./frame-walker.js";
import { MessageMeter } from "./grpc-message-meter.js";

/** What the guard does with the bytes and the connection (guarded-socket.ts does it). */
export interface GuardActions {
  /** Passes client bytes on to the server, in order. */
  forward(bytes: Buffer): void;
  /** Ends a stream the server must not serve: the server is told the client cancelled it, the client gets RST_STREAM `code`. */
  resetStream(id: number, code: H2Error): void;
  /** Ends the connection with GOAWAY (`lastStreamId`, `code`, `debug`); nothing more is forwarded. */
  fail(code: H2Error, debug: string, lastStreamId: number): void;
}

export interface GuardLimits {
  /** Bytes of unfinished gRPC messages the connection may hold over all its streams. */
  readonly unfinishedMessageBytes: number;
  /** The HPACK table size the server announces (SETTINGS_HEADER_TABLE_SIZE; nghttp2's default 4096). */
  readonly headerTableBytes?: number;
}

/** A header block larger than this is not gathered: nghttp2 refuses far smaller header lists. */
const MAX_BLOCK_BYTES = 256 << 10;
/** No header list limit when decoding: nghttp2 applies its own; the decoder must only stay in step. */
const NO_LIST_LIMIT = 2 ** 31 - 1;

interface Stream {
  /** The client sent END_STREAM. */
  ended: boolean;
  readonly meter: MessageMeter;
}

export class RequestGuard {
  private readonly walker = new FrameWalker();
  private readonly hpack: HpackDecoder;
  private readonly streams = new Map<number, Stream>();
  private prefaceLeft = PREFACE.length;
  private lastStreamId = 0;
  /** Bytes of unfinished messages over every stream. */
  private held = 0;
  private failed = false;
  /** The DATA frame being read: its stream (undefined when the stream is not one we track), whether its pad length is still to come, message bytes left. */
  private dataStream: Stream | undefined = undefined;
  private padLengthPending = false;
  private contentLeft = 0;
  /** The header block being gathered (HEADERS then CONTINUATION), and for which stream. */
  private blockParts: Buffer[] = [];
  private blockBytes = 0;
  private blockStream = 0;
  private blockOpen = false;
  private blockEndsStream = false;
  /** The HEADERS frame's own payload, gathered to strip its padding and priority. */
  private headersPayload: Buffer[] = [];
  /** A stream to reset once the current frame has passed (0: none), and with which code. */
  private resetId = 0;
  private resetCode = H2Error.NO_ERROR;

  constructor(
    private readonly limits: GuardLimits,
    private readonly actions: GuardActions,
  ) {
    this.hpack = new HpackDecoder(limits.headerTableBytes ?? 4096);
  }

  /** Bytes of unfinished messages the connection holds now (for tests). */
  get unfinishedBytes(): number {
    return this.held;
  }

  /** The server ended a stream (RST_STREAM, or END_STREAM on its answer): whatever the client sends on it now is nghttp2's to drop. */
  serverClosed(id: number): void {
    const s = this.streams.get(id);
    if (s === undefined) return;
    this.held -= s.meter.held;
    this.streams.delete(id);
  }

  /** The client's next bytes. */
  received(chunk: Buffer): void {
    if (this.failed) return;
    let pos = 0;
    if (this.prefaceLeft > 0) {
      // nghttp2 checks the preface itself.
      pos = Math.min(this.prefaceLeft, chunk.length);
      this.prefaceLeft -= pos;
    }
    /** Where the bytes not yet forwarded start, and where the current frame started in this chunk. */
    let from = 0;
    let frameStart = 0;
    const w = this.walker;
    while (pos < chunk.length) {
      if (!w.inPayload) {
        if (w.atBoundary) frameStart = pos;
        pos = w.takeHeader(chunk, pos);
        if (!w.inPayload) break;
        if (!this.frameStarts()) return this.forwardBefore(chunk, from, frameStart);
      } else {
        const n = w.takePayload(chunk.length - pos);
        if (!this.payload(chunk, pos, n)) return this.forwardBefore(chunk, from, frameStart);
        pos += n;
      }
      if (w.inPayload && w.remaining === 0) {
        w.endFrame();
        this.frameEnds();
        if (this.failed) return;
        if (this.resetId !== 0) {
          // The frames up to this one go to the server before the reset it is told of.
          this.actions.forward(chunk.subarray(from, pos));
          from = pos;
          const id = this.resetId;
          this.resetId = 0;
          this.serverClosed(id);
          this.actions.resetStream(id, this.resetCode);
        }
      }
    }
    if (from < chunk.length) this.actions.forward(from === 0 ? chunk : chunk.subarray(from));
  }

  /** The connection ends at the frame that started at `frameStart`: what came before it still goes to the server, nothing of that frame. */
  private forwardBefore(chunk: Buffer, from: number, frameStart: number): void {
    if (frameStart > from) this.actions.forward(chunk.subarray(from, frameStart));
  }

  private fail(code: H2Error, debug: string): false {
    this.failed = true;
    this.actions.fail(code, debug, this.lastStreamId);
    return false;
  }

  /** A frame's header is complete: false when the connection ends here. */
  private frameStarts(): boolean {
    const w = this.walker;
    const id = w.streamId;
    if (this.blockOpen && w.type !== FrameType.CONTINUATION) return this.fail(H2Error.PROTOCOL_ERROR, `frame of type ${w.type} inside a header block`);
    switch (w.type) {
      case FrameType.DATA: {
        const s = this.streams.get(id);
        if (s?.ended) return this.fail(H2Error.STREAM_CLOSED, `DATA on stream ${id} after END_STREAM`);
        this.dataStream = s;
        this.padLengthPending = (w.flags & Flag.PADDED) !== 0;
        this.contentLeft = this.padLengthPending ? 0 : w.length;
        return true;
      }
      case FrameType.HEADERS: {
        const s = this.streams.get(id);
        if (s === undefined) {
          if (id <= this.lastStreamId) return this.fail(H2Error.PROTOCOL_ERROR, `stream ${id} after stream ${this.lastStreamId}`);
          // Even ids are nghttp2's to refuse; odd ones open a stream.
          if (id % 2 === 1) {
            this.lastStreamId = id;
            this.streams.set(id, { ended: false, meter: new MessageMeter() });
          }
        } else if (s.ended) {
          return this.fail(H2Error.STREAM_CLOSED, `HEADERS on stream ${id} after END_STREAM`);
        }
        this.blockOpen = true;
        this.blockStream = id;
        this.blockEndsStream = (w.flags & Flag.END_STREAM) !== 0;
        this.headersPayload = [];
        this.blockParts = [];
        this.blockBytes = 0;
        return true;
      }
      case FrameType.CONTINUATION:
        if (!this.blockOpen || id !== this.blockStream) return this.fail(H2Error.PROTOCOL_ERROR, "CONTINUATION outside a header block");
        return true;
      case FrameType.RST_STREAM:
        this.serverClosed(id);
        return true;
      default:
        return true;
    }
  }

  /** Payload bytes of the current frame: false when the connection ends here. */
  private payload(chunk: Buffer, pos: number, n: number): boolean {
    const w = this.walker;
    switch (w.type) {
      case FrameType.DATA: {
        let i = pos;
        let k = n;
        if (this.padLengthPending && k > 0) {
          // The pad length is the payload's first byte; the padding is its last bytes.
          this.contentLeft = Math.max(0, w.length - 1 - chunk[i]!);
          this.padLengthPending = false;
          i++;
          k--;
        }
        const c = Math.min(k, this.contentLeft);
        this.contentLeft -= c;
        const s = this.dataStream;
        if (s !== undefined && c > 0) {
          this.held += s.meter.feed(chunk, i, c);
          if (this.held > this.limits.unfinishedMessageBytes) {
            return this.fail(H2Error.ENHANCE_YOUR_CALM, `unfinished gRPC messages over ${this.limits.unfinishedMessageBytes} bytes`);
          }
        }
        return true;
      }
      case FrameType.HEADERS:
      case FrameType.CONTINUATION:
        this.blockBytes += n;
        if (this.blockBytes > MAX_BLOCK_BYTES) return this.fail(H2Error.ENHANCE_YOUR_CALM, "header block too large");
        (w.type === FrameType.HEADERS ? this.headersPayload : this.blockParts).push(Buffer.from(chunk.subarray(pos, pos + n)));
        return true;
      default:
        return true;
    }
  }

  private resetAfterFrame(id: number, code: H2Error): void {
    this.resetId = id;
    this.resetCode = code;
  }

  /** A frame has ended. */
  private frameEnds(): void {
    const w = this.walker;
    if (w.type === FrameType.DATA) {
      const s = this.dataStream;
      if (s !== undefined && w.flags & Flag.END_STREAM) s.ended = true;
      this.dataStream = undefined;
      return;
    }
    if (w.type !== FrameType.HEADERS && w.type !== FrameType.CONTINUATION) return;
    if (w.type === FrameType.HEADERS) {
      const p = Buffer.concat(this.headersPayload);
      this.headersPayload = [];
      let start = 0;
      let end = p.length;
      if (w.flags & Flag.PADDED) {
        if (p.length < 1) return;
        end -= p[0]!;
        start = 1;
      }
      if (w.flags & Flag.PRIORITY) start += 5;
      // A malformed frame is nghttp2's to refuse (and then the connection ends).
      if (start > end) return;
      this.blockParts.unshift(p.subarray(start, end));
    }
    if (!(w.flags & Flag.END_HEADERS)) return;
    this.blockOpen = false;
    const id = this.blockStream;
    const block = this.blockParts.length === 1 ? this.blockParts[0]! : Buffer.concat(this.blockParts);
    this.blockParts = [];
    let bad = false;
    try {
      this.hpack.decode(block, NO_LIST_LIMIT, (_name, value) => {
        if (!bad && badFieldValue(value)) bad = true;
      });
    } catch (e) {
      if (!(e instanceof HeaderListTooLarge) && e instanceof HpackError) {
        this.fail(H2Error.COMPRESSION_ERROR, e.message);
        return;
      }
      if (!(e instanceof HpackError)) throw e;
    }
    const s = this.streams.get(id);
    // A stream nghttp2 never opened (an even id) must not be reset: that would be its connection error.
    if (bad && s !== undefined) return this.resetAfterFrame(id, H2Error.PROTOCOL_ERROR);
    if (s !== undefined && this.blockEndsStream) s.ended = true;
  }
}
