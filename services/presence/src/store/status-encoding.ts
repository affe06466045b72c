/**
 * Status answers in protobuf wire form. Each user's Status is encoded once per change (by
 * protobuf-es); a read then only copies those bytes into one buffer behind the repeated-field
 * tags, and writes the fixed "offline" form of unknown users directly, so answering 100 ids
 * allocates one buffer and nothing per id.
 *
 * GetStatusesResponse, ListActiveStatusesResponse and GetStatusResponse all carry their
 * Status messages as field 1, so one writer serves them all.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { StatusSchema, type Status } from "@switchboard/proto/presence";
import type { StatusRecord } from "../presence/status-record.js";

const TAG_FIELD1_LEN = 0x0a; // field 1, wire type 2 (length-delimited)
const TAG_FIELD2_LEN = 0x12;
const OFFLINE = Buffer.from("offline", "latin1");
const ID_LENGTH = 26;
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
 * Answers come out of shared slabs (as Node's own Buffer pool does, but larger than its 4 KiB
 * limit): one allocation serves many answers. A slab is never written again once handed out
 * in slices; it is freed when the last answer cut from it is.
 */
const SLAB_BYTES = 256 * 1024;
let slab = Buffer.allocUnsafe(0);
let slabUsed = 0;

function answerBuffer(size: number): Buffer {
  if (size > SLAB_BYTES / 8) return Buffer.allocUnsafe(size);
  if (slabUsed + size > slab.length) {
    slab = Buffer.allocUnsafe(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + size);
  slabUsed += (size + 7) & ~7;
  return out;
}

/** Reused between calls (encodeStatusList is synchronous): each id is looked up once. */
let found: (Uint8Array | undefined)[] = [];

/**
 * A message whose field 1 repeats one Status per id, in order; `lookup` gives a known user's
 * encoded Status, undefined for users never seen (answered offline). Ids must be valid
 * Mattermost ids (26 ASCII characters): the offline form is written byte for byte.
 */
export function encodeStatusList(ids: readonly string[], lookup: (userId: string) => Uint8Array | undefined): Buffer {
  if (found.length < ids.length) found = new Array(ids.length);
  let total = 0;
  for (let i = 0; i < ids.length; i++) {
    const known = lookup(ids[i]!);
    found[i] = known;
    const len = known ? known.length : OFFLINE_STATUS_LENGTH;
    total += 1 + varintSize(len) + len;
  }
  const out = answerBuffer(total);
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const known = found[i];
    found[i] = undefined;
    out[at++] = TAG_FIELD1_LEN;
    if (known) {
      at = writeVarint(out, at, known.length);
      out.set(known, at);
      at += known.length;
    } else {
      out[at++] = OFFLINE_STATUS_LENGTH;
      out[at++] = TAG_FIELD1_LEN;
      out[at++] = ID_LENGTH;
      at += out.write(ids[i]!, at, ID_LENGTH, "latin1");
      out[at++] = TAG_FIELD2_LEN;
      out[at++] = OFFLINE.length;
      at += OFFLINE.copy(out, at);
    }
  }
  return out;
}
