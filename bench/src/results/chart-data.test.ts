import { describe, expect, it } from "vitest";
import { cdfPoints, histogramPoints } from "./chart-data.js";

describe("chart data", () => {
  it("makes a CDF ending at 1, thinned to at most about maxPoints", () => {
    const sorted = Array.from({ length: 1000 }, (_, i) => i);
    const cdf = cdfPoints(sorted, 100);
    expect(cdf.length).toBeLessThanOrEqual(101);
    expect(cdf[0]).toEqual([9, 0.01]);
    expect(cdf.at(-1)).toEqual([999, 1]);
    expect(cdfPoints([])).toEqual([]);
  });

  it("counts every sample in a bin, on a shared range when given", () => {
    const h = histogramPoints([0, 1, 2, 3, 9, 10], 5);
    expect(h.map(([, c]) => c)).toEqual([2, 2, 0, 0, 2]);
    expect(h[0]![0]).toBe(1);
    const shared = histogramPoints([5], 4, [0, 20]);
    expect(shared.map(([, c]) => c)).toEqual([0, 1, 0, 0]);
  });
});
