/**
 * GetStatusesRequest off the wire without protobuf-es, for the read every webapp polls: a
 * request of ids only ("0a 1a" and 26 bytes of [a-z0-9], repeated) becomes its strings in one
 * pass, checked as it goes. Anything else (other fields, other lengths, other bytes, bad
 * framing) goes to protobuf-es, so the message is always the one fromBinary gives, and input
 * fromBinary refuses is refused alike.
 *
 * The ids of a request decoded here are valid Mattermost ids already; `hasValidIds` tells the
 * handler so, and it checks only the lists that came through protobuf-es. The server calls the
 * handler synchronously after decoding, so the last list decoded here is the one to recognise
 * (a WeakSet would do too, but its entries outlive young-generation collections and get
 * promoted with their strings).
 */
import { fromBinary } from "@bufbuild/protobuf";
import { GetStatusesRequestSchema, type GetStatusesRequest } from "@switchboard/proto/presence";

const TAG_USER_IDS = 0x0a; // field 1, length-delimited
const ID_LENGTH = 26;
const ENTRY_BYTES = 2 + ID_LENGTH;

let lastChecked: readonly string[] | undefined;

/** The list came from the fast path just now: every id in it is a valid Mattermost id. */
export function hasValidIds(ids: readonly string[]): boolean {
  const yes = ids === lastChecked;
  lastChecked = undefined;
  return yes;
}

type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };

function isIdByte(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

export function decodeGetStatusesRequest(bytes: Uint8Array): GetStatusesRequest {
  const n = bytes.length;
  if (n % ENTRY_BYTES !== 0 || !Buffer.isBuffer(bytes)) return fromBinary(GetStatusesRequestSchema, bytes);
  const userIds: string[] = new Array<string>(n / ENTRY_BYTES);
  for (let p = 0, i = 0; p < n; p += ENTRY_BYTES, i++) {
    if (bytes[p] !== TAG_USER_IDS || bytes[p + 1] !== ID_LENGTH) return fromBinary(GetStatusesRequestSchema, bytes);
    for (let q = p + 2; q < p + ENTRY_BYTES; q++) if (!isIdByte(bytes[q]!)) return fromBinary(GetStatusesRequestSchema, bytes);
    // Node's own latin1Slice (what toString("latin1") calls after checking its arguments).
    userIds[i] = (bytes as Latin1).latin1Slice(p + 2, p + ENTRY_BYTES);
  }
  lastChecked = userIds;
  return { $typeName: GetStatusesRequestSchema.typeName, userIds };
}
