/**
 * Walks the HTTP/2 frames in a byte stream that arrives in chunks of any size, without copying
 * payloads: it gathers each 9-byte frame header (which may straddle chunks) and then counts the
 * payload bytes off as they pass. What to do with a frame or its payload is the caller's; the
 * walker only says where each one is.
 */
import { FRAME_HEADER_BYTES, FrameType } from "../h2/frames.js";

export class FrameWalker {
  /** The current frame's header fields, valid once `inPayload` (and while its payload passes). */
  /** Unknown types (which HTTP/2 says to ignore) are carried as they are. */
  type: FrameType = FrameType.DATA;
  flags = 0;
  streamId = 0;
  length = 0;
  /** Payload bytes of the current frame still to come. */
  remaining = 0;
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private filled = 0;

  /** Between frames: no header byte of the next frame seen yet. */
  get atBoundary(): boolean {
    return this.filled === 0 && this.remaining === 0;
  }

  /** True once a frame's header is complete and until its last payload byte has passed. */
  get inPayload(): boolean {
    return this.filled === FRAME_HEADER_BYTES;
  }

  /**
   * Takes header bytes from buf at pos. Returns the position after them; when the header is
   * complete (`inPayload` is then true) the frame's fields are set. A frame without payload
   * ends at once: the caller sees `inPayload` and `remaining === 0`, then calls `endFrame`.
   */
  takeHeader(buf: Buffer, pos: number): number {
    const n = Math.min(FRAME_HEADER_BYTES - this.filled, buf.length - pos);
    if (this.filled === 0 && n === FRAME_HEADER_BYTES) {
      this.parse(buf, pos);
    } else {
      buf.copy(this.header, this.filled, pos, pos + n);
      this.filled += n;
      if (this.filled === FRAME_HEADER_BYTES) this.parse(this.header, 0);
    }
    return pos + n;
  }

  /** Counts off up to `n` payload bytes; returns how many were the current frame's. */
  takePayload(n: number): number {
    const k = Math.min(n, this.remaining);
    this.remaining -= k;
    return k;
  }

  /** After the last payload byte (or at once for an empty frame): the next byte starts a header. */
  endFrame(): void {
    this.filled = 0;
  }

  private parse(b: Buffer, at: number): void {
    this.length = (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
    this.type = b[at + 3]!;
    this.flags = b[at + 4]!;
    this.streamId = b.readUInt32BE(at + 5) & 0x7fffffff;
    this.remaining = this.length;
    this.filled = FRAME_HEADER_BYTES;
  }
}
