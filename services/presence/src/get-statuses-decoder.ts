/**
 * GetStatusesRequest off the wire without protobuf-es, for the read every webapp polls: a
 * request of ids only ("0a 1a" and 26 bytes of [a-z0-9], repeated) is checked in one pass and
 * kept as its bytes (a WireGetStatusesRequest): the cache answers straight from them, and no
 * string is made per id unless something asks for `userIds`. Anything else (other fields,
 * other lengths, other bytes, bad framing) goes to protobuf-es, so the message is always the
 * one fromBinary gives, and input fromBinary refuses is refused alike.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { GetStatusesRequestSchema, type GetStatusesRequest } from "@switchboard/proto/presence";
import { ID_LENGTH, type PackedIds } from "./store/id-index.js";

const TAG_USER_IDS = 0x0a; // field 1, length-delimited
const ENTRY_BYTES = 2 + ID_LENGTH;

type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };

/** A request of valid Mattermost ids only, as its bytes. */
export class WireGetStatusesRequest implements GetStatusesRequest, PackedIds {
  readonly $typeName = GetStatusesRequestSchema.typeName;
  readonly first = 2;
  readonly stride = ENTRY_BYTES;
  readonly count: number;
  private ids: string[] | undefined;

  constructor(readonly bytes: Buffer) {
    this.count = bytes.length / ENTRY_BYTES;
  }

  /** The ids as strings, made on first use. */
  get userIds(): string[] {
    if (this.ids === undefined) {
      this.ids = new Array<string>(this.count);
      // Node's own latin1Slice (what toString("latin1") calls after checking its arguments).
      for (let i = 0, p = this.first; i < this.count; i++, p += ENTRY_BYTES) this.ids[i] = (this.bytes as Latin1).latin1Slice(p, p + ID_LENGTH);
    }
    return this.ids;
  }
}

function isIdByte(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

export function decodeGetStatusesRequest(bytes: Uint8Array): GetStatusesRequest {
  const n = bytes.length;
  if (n % ENTRY_BYTES !== 0 || !Buffer.isBuffer(bytes)) return fromBinary(GetStatusesRequestSchema, bytes);
  for (let p = 0; p < n; p += ENTRY_BYTES) {
    if (bytes[p] !== TAG_USER_IDS || bytes[p + 1] !== ID_LENGTH) return fromBinary(GetStatusesRequestSchema, bytes);
    for (let q = p + 2; q < p + ENTRY_BYTES; q++) if (!isIdByte(bytes[q]!)) return fromBinary(GetStatusesRequestSchema, bytes);
  }
  return new WireGetStatusesRequest(bytes);
}
