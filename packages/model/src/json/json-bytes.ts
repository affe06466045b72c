const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A JSON object stored as bytes (props, metadata, notify_props); empty means {}. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length === 0) return {};
  const v: unknown = JSON.parse(decoder.decode(bytes));
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}
