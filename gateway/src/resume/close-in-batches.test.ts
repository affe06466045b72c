import { describe, expect, it } from "vitest";
import { closeInBatches } from "./close-in-batches.js";

describe("closeInBatches", () => {
  it("closes every item once, in batches spread over less than the spread", async () => {
    const at: number[] = [];
    const seen: number[] = [];
    const t0 = Date.now();
    await closeInBatches(
      Array.from({ length: 100 }, (_, i) => i),
      400,
      (i) => {
        seen.push(i);
        at.push(Date.now() - t0);
      },
    );
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(new Set(at.map((t) => Math.floor(t / 40))).size).toBeGreaterThan(4); // not all at once
    expect(at[0]).toBeLessThan(40); // the first batch goes at once
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it("closes everything at once without a spread, and does nothing for nothing", async () => {
    const seen: number[] = [];
    await closeInBatches([1, 2, 3], 0, (i) => seen.push(i));
    expect(seen).toEqual([1, 2, 3]);
    await closeInBatches([], 1_000, () => seen.push(0));
    expect(seen).toEqual([1, 2, 3]);
  });
});
