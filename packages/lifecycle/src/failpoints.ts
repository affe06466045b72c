/**
 * Test-only crash points. A deployable passes the names listed in its SB_FAILPOINTS setting;
 * reaching an enabled point kills the process on the spot (SIGKILL), as a power cut would.
 * Empty in production: then every hit() is a cheap set lookup that does nothing.
 */
export interface Failpoints {
  readonly enabled: readonly string[];
  /** Dies here if this point is enabled. */
  hit(name: string): void;
}

export function createFailpoints(names: readonly string[], onHit?: (name: string) => void): Failpoints {
  const set = new Set(names);
  return {
    enabled: [...set],
    hit(name) {
      if (!set.has(name)) return;
      onHit?.(name);
      process.kill(process.pid, "SIGKILL");
    },
  };
}

export const noFailpoints: Failpoints = createFailpoints([]);
