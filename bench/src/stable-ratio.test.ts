import { describe, expect, it } from "vitest";
import { median, stableRatio } from "./stable-ratio.js";

describe("stableRatio", () => {
  it("is the median of the paired runs' ratios, with their spread", () => {
    const r = stableRatio([80, 78, 168], [100, 100, 200], 0.7);
    expect(r).toMatchObject({ median: 0.8, min: 0.78, max: 0.84, runs: 3, unsettled: false });
    expect(r.spread).toBeCloseTo(0.06);
    expect(r.margin).toBeCloseTo(0.1);
    expect(r.text).toBe("0.80 (0.78–0.84 over 3 runs)");
  });

  it("says so when the spread is wider than the margin to the target", () => {
    const r = stableRatio([65, 72, 90], [100, 100, 100], 0.7);
    expect(r.unsettled).toBe(true);
    expect(r.text).toMatch(/the spread \(0\.25\) is wider than the margin to the target \(0\.02\)/);
  });

  it("needs at least three runs of each", () => {
    expect(() => stableRatio([1, 2], [1, 2], 1)).toThrow(/at least 3/);
    expect(() => stableRatio([1, 2, 3], [1, 2], 1)).toThrow(/beside/);
  });

  it("takes the middle of an even count as the mean of the two middle values", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
