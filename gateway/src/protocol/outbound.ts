/**
 * Server -> client frames. An event is rendered once into a shared prefix
 * `{"event":...,"data":...,"broadcast":...,"seq":` (UTF-8 bytes); each connection's frame is
 * that prefix plus its own sequence number and `}`. Replies carry seq_reply only.
 */
import type { Broadcast } from "@switchboard/proto/events";

const encoder = new TextEncoder();

/** A rendered event, shared by every connection that receives it. */
export interface EventFrame {
  /** Mattermost event name, for shedding decisions. */
  readonly event: string;
  /** UTF-8 bytes up to and including `"seq":`. */
  readonly prefix: Uint8Array;
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
  return { event, prefix: encoder.encode(`{"event":${JSON.stringify(event)},"data":${dataJson},"broadcast":${broadcast},"seq":`) };
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
  return data === undefined || data === null
    ? `{"status":"OK","seq_reply":${seq}}`
    : `{"status":"OK","seq_reply":${seq},"data":${JSON.stringify(data)}}`;
}

/** `{"status":"FAIL","seq_reply":n,"error":{AppError}}` — detailed_error always empty (WipeDetailed). */
export function failReply(seq: number, id: string, message: string, statusCode: number): string {
  const error = { id, message, detailed_error: "", status_code: statusCode };
  return seq > 0
    ? `{"status":"FAIL","seq_reply":${seq},"error":${JSON.stringify(error)}}`
    : `{"status":"FAIL","error":${JSON.stringify(error)}}`;
}

/**
 * Writes prefix + seq + "}" into `scratch` and returns a view of it (valid until the next
 * call: uWS copies what it sends). Grows scratch when needed.
 */
export class FrameWriter {
  private scratch = new Uint8Array(64 * 1024);

  frame(prefix: Uint8Array, seq: number): Uint8Array {
    const need = prefix.length + 24;
    if (need > this.scratch.length) this.scratch = new Uint8Array(Math.max(need, this.scratch.length * 2));
    const buf = this.scratch;
    buf.set(prefix, 0);
    let n = prefix.length;
    if (seq === 0) buf[n++] = 48;
    else {
      const start = n;
      for (let v = seq; v > 0; v = Math.floor(v / 10)) buf[n++] = 48 + (v % 10);
      buf.subarray(start, n).reverse();
    }
    buf[n++] = 125;
    return buf.subarray(0, n);
  }
}
