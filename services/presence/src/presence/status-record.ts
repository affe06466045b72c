import type { PresenceStatus, StatusRecord } from "@switchboard/bus";
import { jsonBytes, parseJsonObject } from "@switchboard/model";
/**
 * One user's presence as stored in the KV bucket (key `user.<id>`): the Mattermost status
 * plus everything the deadlines need, so any replica can continue where another stopped.
 * Its shape is the bucket's contract (StatusRecord in @switchboard/bus).
 */
export type { StatusRecord };

const STATUSES = ["online", "away", "dnd", "offline", "ooo"] as const satisfies readonly PresenceStatus[];
export type StatusName = PresenceStatus;

export function isStatusName(s: string): s is StatusName {
  return (STATUSES as readonly string[]).includes(s);
}

/** A user never seen: offline, automatic. */
export function emptyRecord(): StatusRecord {
  return {
    status: "offline",
    manual: false,
    last_activity_at: 0,
    dnd_end_time: 0,
    prev_status: "",
    prev_manual: false,
    conns: {},
    offline_at: 0,
    pending_event: "",
    pending_since: 0,
  };
}

export function cloneRecord(r: StatusRecord): StatusRecord {
  const conns: Record<string, string[]> = {};
  for (const k in r.conns) conns[k] = [...r.conns[k]!];
  return { ...r, conns };
}

export function connectionCount(r: StatusRecord): number {
  let n = 0;
  for (const k in r.conns) n += r.conns[k]!.length;
  return n;
}

export function encodeRecord(r: StatusRecord): Uint8Array {
  return jsonBytes(r);
}

/** Tolerant of missing fields (older writers); throws on bytes that are not a record. */
export function decodeRecord(bytes: Uint8Array): StatusRecord {
  const v = parseJsonObject(bytes) as Partial<StatusRecord>;
  if (typeof v !== "object" || v === null || typeof v.status !== "string" || !isStatusName(v.status)) {
    throw new Error("not a status record");
  }
  const r = emptyRecord();
  r.status = v.status;
  r.manual = v.manual === true;
  r.last_activity_at = num(v.last_activity_at);
  r.dnd_end_time = num(v.dnd_end_time);
  r.prev_status = typeof v.prev_status === "string" && isStatusName(v.prev_status) ? v.prev_status : "";
  r.prev_manual = v.prev_manual === true;
  if (v.conns && typeof v.conns === "object") {
    for (const [lease, ids] of Object.entries(v.conns)) if (Array.isArray(ids) && ids.length > 0) r.conns[lease] = ids.map(String);
  }
  r.offline_at = num(v.offline_at);
  r.pending_event = typeof v.pending_event === "string" ? v.pending_event : "";
  r.pending_since = num(v.pending_since);
  return r;
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}
