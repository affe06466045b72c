/**
 * The drain's socket closes, spread out: all of a draining gateway's clients reconnecting at
 * once would land on the others as one storm. Batches go out every TICK_MS at most; the last
 * one leaves before `spreadMs` has passed.
 */
const TICK_MS = 50;

export async function closeInBatches<T>(items: readonly T[], spreadMs: number, close: (item: T) => void): Promise<void> {
  if (items.length === 0) return;
  const batches = Math.max(1, Math.min(items.length, Math.floor(spreadMs / TICK_MS)));
  const per = Math.ceil(items.length / batches);
  const gap = spreadMs / batches;
  for (let i = 0; i < items.length; i += per) {
    if (i > 0) await new Promise((r) => setTimeout(r, gap));
    for (let k = i; k < Math.min(i + per, items.length); k++) close(items[k]!);
  }
}
