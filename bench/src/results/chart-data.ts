/** Chart points from measured samples: a CDF and a histogram, at most a few hundred points each. */

/** The empirical CDF of ascending samples: [value, fraction at or below], at most `maxPoints` of them. */
export function cdfPoints(sorted: readonly number[], maxPoints = 200): [number, number][] {
  const n = sorted.length;
  if (n === 0) return [];
  const step = Math.max(1, Math.floor(n / maxPoints));
  const out: [number, number][] = [];
  for (let i = step - 1; i < n; i += step) out.push([sorted[i]!, (i + 1) / n]);
  if (out.at(-1)![1] !== 1) out.push([sorted[n - 1]!, 1]);
  return out;
}

/**
 * A histogram of samples in `bins` equal bins: [bin centre, count]. Series drawn together
 * should share `range` ([lowest, highest] over all of them), so that their bins line up.
 */
export function histogramPoints(samples: readonly number[], bins = 30, range?: readonly [number, number]): [number, number][] {
  if (samples.length === 0) return [];
  let lo = range?.[0] ?? Infinity;
  let hi = range?.[1] ?? -Infinity;
  if (!range) {
    for (const v of samples) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of samples) counts[Math.max(0, Math.min(bins - 1, Math.floor((v - lo) / width)))]!++;
  return counts.map((c, i) => [lo + (i + 0.5) * width, c]);
}
