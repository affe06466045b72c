/**
 * Deadlines of the calls in flight, checked by one timer per server instead of one per call:
 * a call costs an array slot, not a Timeout object, on the hot path. The timer runs only
 * while calls are in flight and fires every `resolutionMs`, so a call is cut off at most that
 * much after its deadline (the caller enforces its own deadline exactly).
 *
 * The entries live in an array (each knows its slot; a deletion moves the last entry into the
 * hole and empties the last slot), not a Set: a long-lived Set with an insertion and a
 * deletion per call rehashes every few dozen calls, and each table it leaves behind keeps the
 * calls then in flight alive until the next full collection (see h2/stream-table.ts).
 */
export interface DeadlineEntry {
  /** Absolute, in Date.now() ms. */
  readonly deadline: number;
  expire(): void;
  /** Where the sweeper keeps the entry; -1 when it does not. Start with -1. */
  slot: number;
}

export class DeadlineSweeper {
  private entries: (DeadlineEntry | undefined)[] = [];
  private count = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly resolutionMs: number) {}

  get size(): number {
    return this.count;
  }

  add(e: DeadlineEntry): void {
    if (e.slot >= 0) return;
    e.slot = this.count;
    if (this.count < this.entries.length) this.entries[this.count] = e;
    else this.entries.push(e);
    this.count++;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.resolutionMs);
      this.timer.unref();
    }
  }

  delete(e: DeadlineEntry): void {
    const at = e.slot;
    if (at < 0 || this.entries[at] !== e) return;
    const last = this.entries[--this.count]!;
    this.entries[at] = last;
    last.slot = at;
    this.entries[this.count] = undefined;
    e.slot = -1;
  }

  private sweep(): void {
    const now = Date.now();
    // Backwards: a deletion moves the last entry into the hole, which was visited already.
    for (let i = this.count - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e === undefined || e.deadline > now) continue;
      this.delete(e);
      e.expire();
    }
    if (this.count === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
