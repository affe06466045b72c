/** Closed-loop load: a fixed number of callers, each issuing its next call when the last returns. */

/** The p-th percentile of ascending values (0 when there are none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface LoopResult {
  /** Each call's latency in ms, ascending. */
  readonly latencies: number[];
  readonly seconds: number;
}

/** Runs `op(worker, i)` in `inFlight` loops for `durationMs`, timing each call. */
export async function closedLoop(inFlight: number, durationMs: number, op: (worker: number, i: number) => Promise<void>): Promise<LoopResult> {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        const t0 = performance.now();
        await op(w, i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { latencies, seconds };
}
