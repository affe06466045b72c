/**
 * Status answers in protobuf wire form. Each user's Status is encoded once per change (by
 * protobuf-es); a read then only copies those bytes into one buffer behind the repeated-field
 * tags, and writes the fixed "offline" form of unknown users directly, so answering 100 ids
 * allocates nothing per id (the ids are read as bytes: id-index.ts) and, for a request's own
 * ids, no buffer either: the answer is written into the connection's output as it is sent.
 *
 * GetStatusesResponse, ListActiveStatusesResponse and GetStatusResponse all carry their
 * Status messages as field 1, so one writer serves them all.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { StatusSchema, type GetStatusesResponseSchema, type Status } from "@switchboard/proto/presence";
import { MessageWriter } from "@switchboard/rpc";
import type { StatusRecord } from "../presence/status-record.js";
import { ID_LENGTH, type IdIndex, type PackedIds } from "./id-index.js";

const TAG_FIELD1_LEN = 0x0a; // field 1, wire type 2 (length-delimited)
const TAG_FIELD2_LEN = 0x12;
const OFFLINE = Buffer.from("offline", "latin1");
/** Status{user_id: <26 chars>, status: "offline"}. */
const OFFLINE_STATUS_LENGTH = 2 + ID_LENGTH + 2 + OFFLINE.length;

/** Mattermost's model.Status of a stored record. */
export function toStatusMessage(userId: string, r: StatusRecord): Status {
  return create(StatusSchema, {
    userId,
    status: r.status,
    manual: r.manual,
    lastActivityAt: BigInt(r.last_activity_at),
    dndEndTime: BigInt(r.dnd_end_time),
    prevStatus: r.prev_status,
  });
}

export function encodeStatus(s: Status): Uint8Array {
  return toBinary(StatusSchema, s);
}

/** The wire form protobuf-es gives a never-seen user (for tests of the fast path). */
export function encodeOfflineStatus(userId: string): Uint8Array {
  return toBinary(StatusSchema, create(StatusSchema, { userId, status: "offline" }));
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n >>>= 7;
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[at++] = n;
  return at;
}

/**
 * A message whose field 1 repeats one Status per id, in order: a known user's encoded Status
 * from `index`, users never seen answered offline. Looked up when made, written when the
 * answer is sent (straight into the connection's output: @switchboard/rpc MessageWriter), so
 * the ids' bytes must stay as they are until then (a request's own bytes do). Ids must be
 * valid Mattermost ids (26 ASCII characters): the offline form is written byte for byte.
 */
export class StatusListWriter extends MessageWriter<typeof GetStatusesResponseSchema> {
  readonly length: number;
  private readonly found: (Uint8Array | undefined)[];

  constructor(
    private readonly ids: PackedIds,
    index: IdIndex<Uint8Array>,
  ) {
    super();
    const { bytes, first, stride, count } = ids;
    const found = new Array<Uint8Array | undefined>(count);
    let total = 0;
    for (let i = 0, off = first; i < count; i++, off += stride) {
      const known = index.get(bytes, off);
      found[i] = known;
      const len = known ? known.length : OFFLINE_STATUS_LENGTH;
      total += 1 + varintSize(len) + len;
    }
    this.found = found;
    this.length = total;
  }

  writeTo(out: Buffer, at: number): number {
    const { bytes, first, stride, count } = this.ids;
    const found = this.found;
    for (let i = 0, off = first; i < count; i++, off += stride) {
      const known = found[i];
      out[at++] = TAG_FIELD1_LEN;
      if (known) {
        at = writeVarint(out, at, known.length);
        out.set(known, at);
        at += known.length;
      } else {
        out[at++] = OFFLINE_STATUS_LENGTH;
        out[at++] = TAG_FIELD1_LEN;
        out[at++] = ID_LENGTH;
        for (let k = off; k < off + ID_LENGTH; k++) out[at++] = bytes[k]!;
        out[at++] = TAG_FIELD2_LEN;
        out[at++] = OFFLINE.length;
        at += OFFLINE.copy(out, at);
      }
    }
    return at;
  }
}

/** The same message in a buffer of its own, written at once (for ids in a shared buffer: packIds). */
export function encodeStatusList(ids: PackedIds, index: IdIndex<Uint8Array>): Buffer {
  const w = new StatusListWriter(ids, index);
  const out = Buffer.allocUnsafe(w.length);
  w.writeTo(out, 0);
  return out;
}
