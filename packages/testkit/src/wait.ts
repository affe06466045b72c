export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Named in the timeout error. */
  readonly what?: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until fn returns a value other than undefined/false (or stops throwing), and returns
 * it. Fails with the last error after the timeout. For tests: no fixed sleeps.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, o: WaitOptions = {}): Promise<Exclude<T, undefined | false>> {
  const timeout = o.timeoutMs ?? 10_000;
  const interval = o.intervalMs ?? 25;
  const end = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as Exclude<T, undefined | false>;
      last = undefined;
    } catch (e: unknown) {
      last = e;
    }
    if (Date.now() > end) {
      const why = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${timeout} ms waiting for ${o.what ?? "condition"}${why}`, { cause: last });
    }
    await sleep(interval);
  }
}
