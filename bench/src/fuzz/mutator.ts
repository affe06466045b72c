/**
 * A seeded PRNG and byte/JSON mutators for the fuzzer. Own code rather than a library: the
 * fuzzer needs mutations of valid protocol messages (bit flips, splices, length lies, type
 * swaps), paced onto the network at a fixed rate and reproducible from one seed. fast-check,
 * the well-kept npm candidate, generates and shrinks values for in-process properties; it
 * neither mutates a given message nor paces a stream, so it would have carried all the logic
 * here anyway.
 */

/** mulberry32: small, fast, good enough for test inputs; reproducible from the seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

const INTERESTING = [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 53, -(2 ** 53), 1e308, -1e-308, 0.5, Number.MAX_SAFE_INTEGER + 2];
const STRINGS = [
  "",
  " ",
  "\u0000",
  "%00",
  "../../etc/passwd",
  "'; DROP TABLE posts; --",
  "\ud800",
  "🙂".repeat(50),
  "a".repeat(70_000),
  "{{}}",
  "$ne",
  "__proto__",
  "constructor",
];

/** A JSON value of bounded size, depth and variety (some deliberately hostile). */
export function randomJson(r: Rng, depth = 0): unknown {
  const k = r.int(depth > 3 ? 5 : 8);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.chance(0.5) ? r.pick(INTERESTING) : r.int(1000);
    case 3:
      return r.pick(STRINGS);
    case 4:
      return r.bytes(r.int(40)).toString("latin1");
    case 5:
      return Array.from({ length: r.int(6) }, () => randomJson(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(6); i > 0; i--) o[r.chance(0.3) ? r.pick(STRINGS).slice(0, 40) : `k${r.int(20)}`] = randomJson(r, depth + 1);
      return o;
    }
  }
}

/** Mutates a JSON object at one key: a value of another type, a deletion, or an extra key. */
export function mutateJson(r: Rng, v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...v };
  const keys = Object.keys(out);
  for (let n = 1 + r.int(3); n > 0; n--) {
    const key = keys.length > 0 && r.chance(0.8) ? r.pick(keys) : `x${r.int(100)}`;
    if (r.chance(0.2)) delete out[key];
    else if (out[key] !== null && typeof out[key] === "object" && !Array.isArray(out[key]) && r.chance(0.5)) {
      out[key] = mutateJson(r, out[key] as Record<string, unknown>);
    } else out[key] = randomJson(r);
  }
  return out;
}

/** Byte-level mutations of a buffer: flips, splices, truncation, duplication, random inserts. */
export function mutateBytes(r: Rng, input: Buffer, maxLen = 256 * 1024): Buffer {
  let b = Buffer.from(input);
  for (let n = 1 + r.int(4); n > 0; n--) {
    const at = b.length > 0 ? r.int(b.length) : 0;
    switch (r.int(7)) {
      case 0:
        if (b.length > 0) b[at] = b[at]! ^ (1 << r.int(8));
        break;
      case 1:
        if (b.length > 0) b[at] = r.pick([0, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x7b, 0x5b]);
        break;
      case 2:
        b = b.subarray(0, at);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), r.bytes(1 + r.int(16)), b.subarray(at)]);
        break;
      case 4:
        b = Buffer.concat([b, b.subarray(at, at + r.int(64))]);
        break;
      case 5:
        b = Buffer.concat([b.subarray(0, at), Buffer.from(r.chance(0.5) ? "[".repeat(r.int(2000)) : '{"a":'.repeat(r.int(2000))), b.subarray(at)]);
        break;
      default:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + r.int(16))]);
    }
  }
  return b.length > maxLen ? b.subarray(0, maxLen) : b;
}
