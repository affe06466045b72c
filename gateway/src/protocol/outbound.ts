/**
 * Server -> client frames. An event is rendered once into shared bytes
 * `{"event":...,"data":...,"broadcast":...,"seq":` + a slot of SEQ_SLOT spaces + `}`; each
 * connection's seq is written into the slot right before its send, right-aligned after
 * spaces (JSON whitespace: `"seq":      42}` parses as 42 everywhere). The same bytes go to
 * every connection: no copy and no allocation per delivery. Replies carry seq_reply only.
 */
import type { Broadcast } from "@switchboard/proto/events";

const encoder = new TextEncoder();

/** Digits a frame's seq slot holds (seq below 10^8 is written in place). */
export const SEQ_SLOT = 8;
const SLOT_LIMIT = 10 ** SEQ_SLOT;
const SLOT_TEXT = " ".repeat(SEQ_SLOT) + "}";

/** A rendered event, shared by every connection that receives it. */
export interface EventFrame {
  /** Mattermost event name, for shedding decisions. */
  readonly event: string;
  /** UTF-8 bytes: everything up to `"seq":`, then the seq slot and `}`. */
  readonly bytes: Uint8Array;
}

/** Mattermost's WebsocketBroadcast JSON, from the envelope's filters. */
export function broadcastJson(b: Broadcast | undefined): string {
  if (!b) return '{"omit_users":null,"user_id":"","channel_id":"","team_id":"","connection_id":"","omit_connection_id":""}';
  let omit = "null";
  if (b.omitUsers.length > 0) omit = `{${b.omitUsers.map((u) => `${JSON.stringify(u)}:true`).join(",")}}`;
  let s =
    `{"omit_users":${omit},"user_id":${JSON.stringify(b.userId)},"channel_id":${JSON.stringify(b.channelId)},` +
    `"team_id":${JSON.stringify(b.teamId)},"connection_id":${JSON.stringify(b.connectionId)},"omit_connection_id":${JSON.stringify(b.omitConnectionId)}`;
  if (b.containsSanitizedData) s += ',"contains_sanitized_data":true';
  if (b.containsSensitiveData) s += ',"contains_sensitive_data":true';
  return s + "}";
}

/** Renders an event whose `data` is already JSON text. */
export function renderEvent(event: string, dataJson: string, broadcast: string): EventFrame {
  return { event, bytes: encoder.encode(`{"event":${JSON.stringify(event)},"data":${dataJson},"broadcast":${broadcast},"seq":${SLOT_TEXT}`) };
}

/** Adds fields to a JSON object text (for per-recipient fields of `posted`). */
export function withFields(dataJson: string, fields: Readonly<Record<string, unknown>>): string {
  const extra = Object.entries(fields)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
    .join(",");
  if (extra === "") return dataJson;
  const end = dataJson.lastIndexOf("}");
  const body = dataJson.slice(0, end).trimEnd();
  return `${body}${body.endsWith("{") ? "" : ","}${extra}}`;
}

/** `{"status":"OK","seq_reply":n[,"data":...]}` */
export function okReply(seq: number, data?: unknown): string {
  return data === undefined || data === null ? `{"status":"OK","seq_reply":${seq}}` : `{"status":"OK","seq_reply":${seq},"data":${JSON.stringify(data)}}`;
}

/** `{"status":"FAIL","seq_reply":n,"error":{AppError}}` — detailed_error always empty (WipeDetailed). */
export function failReply(seq: number, id: string, message: string, statusCode: number, requestId = ""): string {
  const error =
    requestId === ""
      ? { id, message, detailed_error: "", status_code: statusCode }
      : { id, message, detailed_error: "", request_id: requestId, status_code: statusCode };
  return seq > 0 ? `{"status":"FAIL","seq_reply":${seq},"error":${JSON.stringify(error)}}` : `{"status":"FAIL","error":${JSON.stringify(error)}}`;
}

/**
 * Puts a connection's seq into a rendered frame and returns the bytes to send, valid until
 * the next call (uWS copies what it sends). Below 10^SEQ_SLOT the seq is written into the
 * frame's own slot; a larger one (a connection past a hundred million events) is written
 * without padding into a scratch copy.
 */
export class FrameWriter {
  private scratch = new Uint8Array(64 * 1024);

  frame(bytes: Uint8Array, seq: number): Uint8Array {
    const end = bytes.length - 1; // the closing brace
    if (seq < SLOT_LIMIT) {
      let i = end - 1;
      let v = seq;
      do {
        bytes[i--] = 48 + (v % 10);
        v = (v / 10) | 0;
      } while (v > 0);
      while (i >= end - SEQ_SLOT) bytes[i--] = 32;
      return bytes;
    }
    const digits = String(seq);
    const start = end - SEQ_SLOT;
    const need = start + digits.length + 1;
    if (need > this.scratch.length) this.scratch = new Uint8Array(Math.max(need, this.scratch.length * 2));
    const buf = this.scratch;
    buf.set(bytes.subarray(0, start), 0);
    for (let k = 0; k < digits.length; k++) buf[start + k] = digits.charCodeAt(k);
    buf[need - 1] = 125;
    return buf.subarray(0, need);
  }
}
