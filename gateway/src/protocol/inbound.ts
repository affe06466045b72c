/**
 * Client -> server requests (Mattermost's WebSocketRequest): JSON text frames or msgpack
 * binary frames with the keys seq, action, data. Anything else is a protocol violation.
 */
import { decode as decodeMsgpack } from "@msgpack/msgpack";

export interface WsRequest {
  readonly seq: number;
  readonly action: string;
  readonly data: Record<string, unknown>;
}

export type ParseResult = { ok: true; req: WsRequest } | { ok: false };

const textDecoder = new TextDecoder("utf-8", { fatal: true });
const MAX_DEPTH = 32;

/** Parses one frame; never throws. Deeply nested or non-object payloads are refused. */
export function parseRequest(message: ArrayBuffer, isBinary: boolean): ParseResult {
  let v: unknown;
  try {
    if (isBinary) {
      v = decodeMsgpack(new Uint8Array(message), { maxStrLength: 1 << 16, maxArrayLength: 1 << 14, maxMapLength: 1 << 12 });
    } else {
      const text = textDecoder.decode(message);
      if (!nestingWithin(text, MAX_DEPTH)) return { ok: false };
      v = JSON.parse(text);
    }
  } catch {
    return { ok: false };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { ok: false };
  const o = v as Record<string, unknown>;
  const seq = typeof o.seq === "number" && Number.isSafeInteger(o.seq) ? o.seq : typeof o.seq === "bigint" ? Number(o.seq) : 0;
  const action = typeof o.action === "string" ? o.action : "";
  const data = o.data !== null && typeof o.data === "object" && !Array.isArray(o.data) ? (o.data as Record<string, unknown>) : {};
  return { ok: true, req: { seq, action, data } };
}

/** Cheap bracket-depth scan so a 100k-deep document is refused before JSON.parse recurses. */
function nestingWithin(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return false;
    } else if (c === 125 || c === 93) depth--;
  }
  return true;
}
