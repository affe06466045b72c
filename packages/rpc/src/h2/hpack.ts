/**
 * HPACK (RFC 7541): the header block decoder of one HTTP/2 connection, with its dynamic table, and
 * a stateless encoder for the blocks we send.
 *
 * The decoder works on a whole header block (HEADERS plus CONTINUATION payloads) at once. Strings
 * are latin1 (one char per octet, as HTTP/2 field octets are), never UTF-8. Fields taken from the
 * static or dynamic table are emitted as the strings stored there, so a block of indexed fields
 * (what a client sends once its table is warm) costs no allocation beyond what `emit` does.
 *
 * The encoder never adds to the peer's dynamic table: our answers (`:status`, content-type, grpc-*)
 * are small and mostly in the static table, and a stateless encoder lets any block be built once
 * and reused on every connection.
 */
import { huffmanDecode, huffmanMaxDecodedLength } from "./huffman.js";

/** A COMPRESSION_ERROR (RFC 9113 4.3): the decoder's state is lost, the connection must be closed. */
export class HpackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The block decoded fine (the dynamic table is in step) but its header list is larger than the
 * caller's limit: worth a stream error (or a 431-like answer), not the connection.
 */
export class HeaderListTooLarge extends HpackError {
  constructor(
    readonly listBytes: number,
    readonly maxListBytes: number,
  ) {
    super(`header list of ${listBytes} bytes exceeds ${maxListBytes}`);
  }
}

/** RFC 7541 Appendix A; index 0 is unused. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  ["", ""],
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];
const STATIC_COUNT = 61;
/** Split in two flat arrays so an indexed lookup is one array read per string. */
const STATIC_NAMES: readonly string[] = STATIC_TABLE.map((e) => e[0]);
const STATIC_VALUES: readonly string[] = STATIC_TABLE.map((e) => e[1]);

/** Per RFC 7541 4.1: what an entry costs in the dynamic table (and a field in the header list, RFC 9113 6.5.2). */
const ENTRY_OVERHEAD = 32;
/** Largest integer we accept in any representation (lengths, indexes, table sizes). */
const MAX_INT = 0x7fffffff;

/** Buffer's undocumented but long-standing latin1Slice: no encoding switch, straight to a one-byte string. */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}
const latin1: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as unknown as Partial<Latin1Slicer>).latin1Slice === "function"
    ? (buf, start, end) => (buf as unknown as Latin1Slicer).latin1Slice(start, end)
    : (buf, start, end) => buf.toString("latin1", start, end);

/** Where Huffman strings are decoded before becoming strings; shared (decoding is synchronous), grown on demand. */
let scratch = Buffer.allocUnsafe(4096);

export class HpackDecoder {
  /** SETTINGS_HEADER_TABLE_SIZE as we advertise it: the ceiling of the peer's size updates. */
  private readonly maxTableBytes: number;
  /** The table's current maximum, as last set by the peer (RFC 7541 4.2). */
  private limit: number;
  /** Sum of entry sizes in the table. */
  private bytes = 0;
  /** Ring buffer of entries: the newest is at (head - 1) & mask, the oldest at (head - count) & mask. */
  private names: string[] = new Array<string>(16).fill("");
  private values: string[] = new Array<string>(16).fill("");
  private mask = 15;
  private head = 0;
  private count = 0;
  /** Read position after the last readInt/readString (saves returning a pair). */
  private pos = 0;

  /** maxTableBytes: SETTINGS_HEADER_TABLE_SIZE we advertise (4096 default). The peer's dynamic table size updates may not exceed it. */
  constructor(maxTableBytes = 4096) {
    if (!Number.isInteger(maxTableBytes) || maxTableBytes < 0 || maxTableBytes > MAX_INT) {
      throw new RangeError(`bad maxTableBytes ${maxTableBytes}`);
    }
    this.maxTableBytes = maxTableBytes;
    this.limit = maxTableBytes;
  }

  /**
   * Decodes one complete header block (the HEADERS payload plus any CONTINUATION payloads, already
   * concatenated, padding/priority already stripped). Calls emit(name, value) for each field in order.
   *
   * Throws HpackError on malformed input. When the header list (sum of name + value + 32 per field)
   * exceeds maxListBytes, the block is still decoded to its end (the table must stay in step) but
   * fields past the limit are no longer emitted, and HeaderListTooLarge is thrown at the end.
   */
  decode(block: Uint8Array, maxListBytes: number, emit: (name: string, value: string) => void): void {
    const buf = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    const end = buf.length;
    let pos = 0;
    let listBytes = 0;
    let sawField = false;
    while (pos < end) {
      const b = buf[pos]!;
      let name: string;
      let value: string;
      if (b & 0x80) {
        // Indexed header field (6.1).
        let index = b & 0x7f;
        pos++;
        if (index === 0x7f) {
          index = this.readInt(buf, pos - 1, end, 0x7f);
          pos = this.pos;
        }
        if (index === 0) throw new HpackError("index 0");
        if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index]!;
          value = STATIC_VALUES[index]!;
        } else {
          const d = index - STATIC_COUNT;
          if (d > this.count) throw new HpackError(`index ${index} beyond the table`);
          const slot = (this.head - d) & this.mask;
          name = this.names[slot]!;
          value = this.values[slot]!;
        }
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update (6.3): only before the block's first field.
        if (sawField) throw new HpackError("table size update after a header field");
        const size = this.readInt(buf, pos, end, 0x1f);
        pos = this.pos;
        if (size > this.maxTableBytes) throw new HpackError(`table size update ${size} above ${this.maxTableBytes}`);
        this.limit = size;
        this.evictTo(size);
        continue;
      } else {
        // Literal with incremental indexing (6.2.1, 01xxxxxx, 6-bit index), without indexing
        // (6.2.2, 0000xxxx) or never indexed (6.2.3, 0001xxxx): the last two differ only for
        // intermediaries, which we are not.
        const indexing = (b & 0x40) !== 0;
        const index = this.readInt(buf, pos, end, indexing ? 0x3f : 0x0f);
        pos = this.pos;
        if (index === 0) {
          name = this.readString(buf, pos, end);
          pos = this.pos;
        } else if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index]!;
        } else {
          const d = index - STATIC_COUNT;
          if (d > this.count) throw new HpackError(`name index ${index} beyond the table`);
          name = this.names[(this.head - d) & this.mask]!;
        }
        value = this.readString(buf, pos, end);
        pos = this.pos;
        if (indexing) this.add(name, value);
      }
      sawField = true;
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      if (listBytes <= maxListBytes) emit(name, value);
    }
    if (listBytes > maxListBytes) throw new HeaderListTooLarge(listBytes, maxListBytes);
  }

  /** Reads an integer with an N-bit prefix (5.1) whose first octet is buf[pos] (prefixMask = 2^N - 1); sets this.pos after it. */
  private readInt(buf: Buffer, pos: number, end: number, prefixMask: number): number {
    if (pos >= end) throw new HpackError("truncated integer");
    let v = buf[pos++]! & prefixMask;
    if (v === prefixMask) {
      let scale = 1;
      let b: number;
      do {
        if (pos >= end) throw new HpackError("truncated integer");
        b = buf[pos++]!;
        v += (b & 0x7f) * scale;
        scale *= 128;
        // Past 2^31, or more continuation octets than 31 bits need (zero-padded ones included).
        if (v > MAX_INT || (b & 0x80 && scale > 2 ** 28)) throw new HpackError("integer overflow");
      } while (b & 0x80);
    }
    this.pos = pos;
    return v;
  }

  /** Reads a string literal (5.2) starting at buf[pos]; sets this.pos after it. */
  private readString(buf: Buffer, pos: number, end: number): string {
    if (pos >= end) throw new HpackError("truncated string");
    const huffman = (buf[pos]! & 0x80) !== 0;
    const len = this.readInt(buf, pos, end, 0x7f);
    const start = this.pos;
    if (len > end - start) throw new HpackError("string longer than the block");
    const stop = start + len;
    this.pos = stop;
    if (!huffman) return latin1(buf, start, stop);
    const room = huffmanMaxDecodedLength(len);
    if (room > scratch.length) scratch = Buffer.allocUnsafe(Math.max(room, scratch.length * 2));
    const n = huffmanDecode(buf, start, stop, scratch);
    if (n < 0) throw new HpackError("bad Huffman code");
    return latin1(scratch, 0, n);
  }

  /** Adds an entry (4.4): evicts what it must first; an entry larger than the table just empties it. */
  private add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.limit) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.limit - size);
    if (this.count > this.mask) this.grow();
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.head = (this.head + 1) & this.mask;
    this.count++;
    this.bytes += size;
  }

  /** Evicts the oldest entries until the table holds at most `bytes`. */
  private evictTo(bytes: number): void {
    while (this.bytes > bytes) {
      const slot = (this.head - this.count) & this.mask;
      this.bytes -= this.names[slot]!.length + this.values[slot]!.length + ENTRY_OVERHEAD;
      this.names[slot] = ""; // let the strings go
      this.values[slot] = "";
      this.count--;
    }
  }

  /** Doubles the ring, oldest entry first at slot 0. Rare: at most log2(maxTableBytes / 32) times per connection. */
  private grow(): void {
    const size = (this.mask + 1) * 2;
    const names = new Array<string>(size).fill("");
    const values = new Array<string>(size).fill("");
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - this.count + i) & this.mask;
      names[i] = this.names[slot]!;
      values[i] = this.values[slot]!;
    }
    this.names = names;
    this.values = values;
    this.mask = size - 1;
    this.head = this.count;
  }
}

/** Static table lookups for the encoder: a name's first index, and the index of each (name, value) pair. */
interface StaticName {
  readonly index: number;
  readonly values: ReadonlyMap<string, number>;
}
const STATIC_BY_NAME: ReadonlyMap<string, StaticName> = (() => {
  const byName = new Map<string, { index: number; values: Map<string, number> }>();
  for (let i = 1; i <= STATIC_COUNT; i++) {
    const [name, value] = STATIC_TABLE[i]!;
    let e = byName.get(name);
    if (e === undefined) byName.set(name, (e = { index: i, values: new Map() }));
    if (!e.values.has(value)) e.values.set(value, i);
  }
  return byName;
})();

/** Octets of an integer with an N-bit prefix (5.1). */
function intLength(v: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (v < max) return 1;
  v -= max;
  let n = 2;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes an integer with an N-bit prefix, `flags` in the first octet's high bits; returns the new offset. */
function writeInt(out: Buffer, offset: number, v: number, prefixBits: number, flags: number): number {
  const max = (1 << prefixBits) - 1;
  if (v < max) {
    out[offset++] = flags | v;
    return offset;
  }
  out[offset++] = flags | max;
  v -= max;
  while (v >= 128) {
    out[offset++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[offset++] = v;
  return offset;
}

/** Writes a string literal without Huffman coding (chars < 256, one octet each); returns the new offset. */
function writeString(out: Buffer, offset: number, s: string): number {
  const len = s.length;
  offset = writeInt(out, offset, len, 7, 0);
  if (len < 32) {
    for (let i = 0; i < len; i++) out[offset + i] = s.charCodeAt(i);
  } else {
    out.write(s, offset, len, "latin1");
  }
  return offset + len;
}

/**
 * Encodes header fields without touching any dynamic table (our peer's decoder state never depends on us):
 * a field exactly in the static table -> indexed representation; a name in the static table -> literal without
 * indexing with indexed name; otherwise literal without indexing, new name. Strings are never Huffman-coded.
 * Writes into `out` at `offset`, returns the new offset. The caller guarantees room: use encodedLength() first.
 */
export function encodeHeaders(fields: readonly (readonly [string, string])[], out: Buffer, offset: number): number {
  for (let i = 0; i < fields.length; i++) {
    const [name, value] = fields[i]!;
    const s = STATIC_BY_NAME.get(name);
    if (s === undefined) {
      out[offset++] = 0x00; // literal without indexing, new name
      offset = writeString(out, offset, name);
      offset = writeString(out, offset, value);
      continue;
    }
    const exact = s.values.get(value);
    if (exact !== undefined) {
      out[offset++] = 0x80 | exact; // every static index fits the 7-bit prefix
      continue;
    }
    offset = writeInt(out, offset, s.index, 4, 0x00); // literal without indexing, indexed name
    offset = writeString(out, offset, value);
  }
  return offset;
}

/** The exact number of octets encodeHeaders() writes for `fields`. */
export function encodedLength(fields: readonly (readonly [string, string])[]): number {
  let n = 0;
  for (let i = 0; i < fields.length; i++) {
    const [name, value] = fields[i]!;
    const s = STATIC_BY_NAME.get(name);
    const valueBytes = intLength(value.length, 7) + value.length;
    if (s === undefined) n += 1 + intLength(name.length, 7) + name.length + valueBytes;
    else if (s.values.has(value)) n += 1;
    else n += intLength(s.index, 4) + valueBytes;
  }
  return n;
}
