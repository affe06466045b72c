/**
 * A ratio people can trust on a shared machine: the median of at least three alternating runs
 * of the subject and its peer in one invocation, with the spread shown, and a word when the
 * spread is wider than the median's margin to the target (one run more could flip the verdict).
 */
export interface StableRatio {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** max − min. */
  readonly spread: number;
  readonly runs: number;
  /** median − target (positive: above it). */
  readonly margin: number;
  /** The spread is wider than the margin: the verdict is not settled by this run. */
  readonly unsettled: boolean;
  /** e.g. "0.82 (0.78–0.85 over 3 runs)", with a warning when unsettled. */
  readonly text: string;
}

const MIN_RUNS = 3;

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The ratios subject[i] / peer[i], judged against `target` (higher is better). */
export function stableRatio(subject: readonly number[], peer: readonly number[], target: number): StableRatio {
  if (subject.length !== peer.length) throw new Error(`${String(subject.length)} subject runs beside ${String(peer.length)} peer runs`);
  if (subject.length < MIN_RUNS) throw new Error(`a ratio needs at least ${String(MIN_RUNS)} alternating runs, got ${String(subject.length)}`);
  const ratios = subject.map((s, i) => s / peer[i]!);
  const med = median(ratios);
  const min = Math.min(...ratios);
  const max = Math.max(...ratios);
  const spread = max - min;
  const margin = med - target;
  const unsettled = spread > Math.abs(margin);
  const f = (v: number) => v.toFixed(2);
  const text = `${f(med)} (${f(min)}–${f(max)} over ${String(ratios.length)} runs)${unsettled ? `: the spread (${f(spread)}) is wider than the margin to the target (${f(margin)})` : ""}`;
  return { median: med, min, max, spread, runs: ratios.length, margin, unsettled, text };
}
