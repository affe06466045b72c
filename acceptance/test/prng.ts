/**
 * A seeded pseudo-random generator (mulberry32): the same seed gives the same choices, so a
 * randomised test that prints its seed can be run again with it (SB_MEMBERSHIP_SEED).
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("prng: pick from nothing");
    return items[this.int(items.length)]!;
  }

  /** One of the keys, with the weights given. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    let r = this.next() * entries.reduce((n, [, w]) => n + w, 0);
    for (const [k, w] of entries) {
      if ((r -= w) < 0) return k;
    }
    return entries.at(-1)![0];
  }

  /** A generator of its own, derived from this one's next value: streams that do not depend on each other's use. */
  fork(): Prng {
    return new Prng(Math.floor(this.next() * 4294967296));
  }

  /** A 26-character Mattermost-style id (lower-case letters and digits). */
  id(): string {
    const abc = "abcdefghijklmnopqrstuvwxyz0123456789";
    let s = "";
    for (let i = 0; i < 26; i++) s += abc[this.int(abc.length)];
    return s;
  }
}

/** The seed to run with: SB_MEMBERSHIP_SEED when set (to reproduce a failure), a fresh one otherwise. */
export function seedFromEnv(name = "SB_MEMBERSHIP_SEED"): number {
  const v = process.env[name];
  if (v !== undefined && v !== "") {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not ${v}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 4294967296) >>> 0;
}
