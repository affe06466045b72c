import { afterEach, describe, expect, it, vi } from "vitest";
import { DeadlineSweeper, type DeadlineEntry } from "./deadlines.js";

const entry = (deadline: number, expired: number[]): DeadlineEntry => ({ deadline, slot: -1, expire: () => expired.push(deadline) });

describe("DeadlineSweeper", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("expires what is due, once, and nothing deleted or not yet due", () => {
    vi.useFakeTimers({ now: 1_000 });
    const sweeper = new DeadlineSweeper(20);
    const expired: number[] = [];
    const entries = Array.from({ length: 100 }, (_, i) => entry(1_000 + (i % 10) * 10, expired));
    for (const e of entries) sweeper.add(e);
    sweeper.add(entries[0]!); // added twice: kept once
    for (let i = 0; i < 100; i += 3) sweeper.delete(entries[i]!);
    sweeper.delete(entries[0]!); // deleted twice: no harm
    expect(sweeper.size).toBe(66);
    vi.advanceTimersByTime(45); // deadlines up to 1,045 are due at the sweeps of 1,020 and 1,040
    const due = entries.filter((e, i) => i % 3 !== 0 && e.deadline <= 1_040).map((e) => e.deadline);
    expect(expired.sort()).toEqual(due.sort());
    expect(sweeper.size).toBe(66 - due.length);
    vi.advanceTimersByTime(100);
    expect(expired).toHaveLength(66);
    expect(sweeper.size).toBe(0);
    // Entries let go of their slots, and a deleted-then-expired entry is never called.
    expect(entries.every((e) => e.slot === -1)).toBe(true);
    expect(vi.getTimerCount()).toBe(0); // the timer stops when nothing is left
    // Nothing in the sweeper still points at an entry it let go of (see deadlines.ts).
    expect((sweeper as unknown as { entries: unknown[] }).entries.every((x) => x === undefined)).toBe(true);
  });

  it("keeps its bookkeeping straight when an expiry deletes other entries", () => {
    vi.useFakeTimers({ now: 0 });
    const sweeper = new DeadlineSweeper(10);
    const expired: number[] = [];
    const later = Array.from({ length: 5 }, (_, i) => entry(1_000 + i, expired));
    const first: DeadlineEntry = { deadline: 5, slot: -1, expire: () => later.slice(0, 3).forEach((e) => sweeper.delete(e)) };
    for (const e of [...later, first]) sweeper.add(e);
    vi.advanceTimersByTime(10);
    expect(sweeper.size).toBe(2);
    vi.advanceTimersByTime(1_000);
    expect(expired.sort()).toEqual([1_003, 1_004]);
  });
});
