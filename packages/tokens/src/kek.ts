import { randomBytes } from "node:crypto";

/**
 * Key-encryption keys (KEKs): 32-byte AES-256 keys that wrap the token signing keys at rest,
 * each named by an id that is stored next to what it wrapped, so a KEK can be rotated: the
 * new one wraps, the old ones still unwrap until everything is re-wrapped.
 *
 * Text form (an env variable or a mounted Secret file): entries `<id>:<base64 of 32 bytes>`
 * separated by commas or whitespace. The first entry is the active KEK (it wraps); the
 * others only unwrap.
 */
export interface Kek {
  readonly id: string;
  readonly key: Uint8Array;
}

const KEK_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
export const KEK_BYTES = 32;

/** Parses a KEK list. Errors name the entry by position and id, never by its key material. */
export function parseKeks(text: string): Kek[] {
  const entries = text.split(/[\s,]+/).filter((e) => e.length > 0);
  if (entries.length === 0) throw new Error("no KEK given (expected <id>:<base64 of 32 bytes>, several separated by commas)");
  const out: Kek[] = [];
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(":");
    const id = colon > 0 ? entry.slice(0, colon) : "";
    const b64 = colon > 0 ? entry.slice(colon + 1) : "";
    if (!KEK_ID.test(id)) throw new Error(`KEK entry ${String(i + 1)} has no valid id (expected <id>:<base64>, id of letters, digits, . _ -)`);
    const key = BASE64.test(b64) ? Buffer.from(b64, b64.includes("-") || b64.includes("_") ? "base64url" : "base64") : Buffer.alloc(0);
    if (key.length !== KEK_BYTES) throw new Error(`KEK "${id}" must be ${String(KEK_BYTES)} bytes in base64 (got ${String(key.length)})`);
    if (out.some((k) => k.id === id)) throw new Error(`KEK id "${id}" is given twice`);
    out.push({ id, key: new Uint8Array(key) });
  });
  return out;
}

/** A fresh random KEK (dev and tests). */
export function generateKek(id: string): Kek {
  if (!KEK_ID.test(id)) throw new Error(`invalid KEK id "${id}"`);
  return { id, key: new Uint8Array(randomBytes(KEK_BYTES)) };
}

/** The text form of a KEK list (active first), as parseKeks reads it. */
export function formatKeks(keks: readonly Kek[]): string {
  return keks.map((k) => `${k.id}:${Buffer.from(k.key).toString("base64")}`).join(",");
}
