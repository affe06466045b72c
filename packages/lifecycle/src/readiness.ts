export interface ReadinessTracker {
  /** Marks a named dependency up or down. */
  set(name: string, ok: boolean): void;
  /** Once draining, the process never becomes ready again. */
  drain(): void;
  readonly draining: boolean;
  snapshot(): { ready: boolean; reasons: string[] };
}

/** Readiness = every registered dependency up and not draining. */
export function createReadiness(initiallyDown: readonly string[] = []): ReadinessTracker {
  const down = new Set(initiallyDown);
  let draining = false;
  return {
    set(name, ok) {
      if (ok) down.delete(name);
      else down.add(name);
    },
    drain() {
      draining = true;
    },
    get draining() {
      return draining;
    },
    snapshot() {
      const reasons = [...down].map((n) => `${n} not ready`);
      if (draining) reasons.unshift("draining");
      return { ready: reasons.length === 0, reasons };
    },
  };
}
