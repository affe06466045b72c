import { randomFillSync } from "node:crypto";

// Mattermost's NewId: a random 128-bit value in base32 with this alphabet, 26 characters.
const ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769";
const ID_LENGTH = 26;

// Random bytes are drawn from the CSPRNG a pool at a time: one call per 256 ids, not per id
// (each call is a system call, about 7 µs on a small VM; ids are made several per request).
const POOL_SIZE = 16 * 256;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

/** A new 26-character Mattermost id. */
export function newId(): string {
  if (poolOffset + 16 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const b = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  // Version 4 UUID bits, as Mattermost's uuid.New() sets them.
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/**
 * A Mattermost id: exactly 26 characters of [a-z0-9]. Anything else is rejected before it can
 * reach a database query or a NATS subject.
 */
export function isValidId(value: unknown): value is string {
  // A loop over char codes: a regular expression costs several times as much, and reads of
  // hundreds of ids per call check every one.
  if (typeof value !== "string" || value.length !== ID_LENGTH) return false;
  for (let i = 0; i < ID_LENGTH; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39))) return false;
  }
  return true;
}

/** Milliseconds since the Unix epoch (Mattermost's GetMillis). */
export function nowMs(): number {
  return Date.now();
}
