/**
 * Deadlines of the calls in flight, checked by one timer per server instead of one per call:
 * a call costs a Set insertion, not a Timeout object, on the hot path. The timer runs only
 * while calls are in flight and fires every `resolutionMs`, so a call is cut off at most that
 * much after its deadline (the caller enforces its own deadline exactly).
 */
export interface DeadlineEntry {
  /** Absolute, in Date.now() ms. */
  readonly deadline: number;
  expire(): void;
}

export class DeadlineSweeper {
  private readonly entries = new Set<DeadlineEntry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly resolutionMs: number) {}

  add(e: DeadlineEntry): void {
    this.entries.add(e);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.resolutionMs);
      this.timer.unref();
    }
  }

  delete(e: DeadlineEntry): void {
    this.entries.delete(e);
  }

  private sweep(): void {
    const now = Date.now();
    for (const e of this.entries) {
      if (e.deadline > now) continue;
      this.entries.delete(e);
      e.expire();
    }
    if (this.entries.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
