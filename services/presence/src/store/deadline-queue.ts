/**
 * When each user next needs a look (grace end, away, dnd end, unconfirmed event): a binary
 * min-heap with one live deadline per key. Rescheduling leaves the old heap entry behind; it
 * is skipped when popped (lazy deletion), so every operation is O(log n).
 */
export class DeadlineQueue {
  private readonly heap: { at: number; key: string }[] = [];
  private readonly live = new Map<string, number>();

  get size(): number {
    return this.live.size;
  }

  /** Sets (or replaces) the key's deadline; 0 removes it. */
  schedule(key: string, at: number): void {
    if (at <= 0) {
      this.live.delete(key);
      return;
    }
    if (this.live.get(key) === at) return;
    this.live.set(key, at);
    this.push({ at, key });
    // Stale entries must not pile up without bound: rebuild when they dominate.
    if (this.heap.length > 1024 && this.heap.length > 4 * this.live.size) this.rebuild();
  }

  /** Removes and returns every key whose deadline is at or before `now`. */
  popDue(now: number, max = Infinity): string[] {
    const out: string[] = [];
    while (this.heap.length > 0 && this.heap[0]!.at <= now && out.length < max) {
      const top = this.pop();
      if (this.live.get(top.key) !== top.at) continue;
      this.live.delete(top.key);
      out.push(top.key);
    }
    return out;
  }

  private rebuild(): void {
    this.heap.length = 0;
    for (const [key, at] of this.live) this.push({ at, key });
  }

  private push(e: { at: number; key: string }): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= e.at) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  private pop(): { at: number; key: string } {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r]!.at < h[l]!.at ? r : l;
        if (h[c]!.at >= last.at) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
