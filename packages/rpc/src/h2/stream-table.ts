/**
 * A connection's open streams by id, in plain arrays whose slots are cleared when a stream
 * closes.
 *
 * Not a Map: a JS Map that lives long (in the old generation) and sees one insertion and one
 * deletion per call rehashes every few dozen calls, and the table it leaves behind keeps
 * pointing at the streams open at that moment. Those dead tables are roots for young-generation
 * collections until the next full one, so every call open at a rehash (its stream, call,
 * closures, request bytes) was kept alive and promoted out of the young generation: at 32 calls
 * in flight that was most of what calls allocated, and the cause of multi-millisecond
 * collections. Here a closed stream's slot is emptied in place, and outgrown arrays are emptied
 * before they are dropped.
 *
 * Open addressing with linear probing; client stream ids are odd and rising, so id >>> 1 puts
 * consecutive streams in consecutive slots. Deletions shift the rest of their run back.
 */

const INITIAL_SLOTS = 64;

export class StreamTable<T extends { readonly id: number }> {
  private ids = new Int32Array(INITIAL_SLOTS);
  private items: (T | undefined)[] = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
  private mask = INITIAL_SLOTS - 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const mask = this.mask;
    for (let slot = (id >>> 1) & mask; this.items[slot] !== undefined; slot = (slot + 1) & mask) {
      if (this.ids[slot] === id) return this.items[slot];
    }
    return undefined;
  }

  /** Adds an item whose id is not in the table (ids are 1 to 2^31 - 1). */
  add(item: T): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    this.place(item);
    this.count++;
  }

  delete(id: number): void {
    const mask = this.mask;
    let hole = (id >>> 1) & mask;
    while (this.items[hole] !== undefined && this.ids[hole] !== id) hole = (hole + 1) & mask;
    if (this.items[hole] === undefined) return;
    for (let j = (hole + 1) & mask; this.items[j] !== undefined; j = (j + 1) & mask) {
      const home = (this.ids[j]! >>> 1) & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      this.ids[hole] = this.ids[j]!;
      this.items[hole] = this.items[j];
      hole = j;
    }
    this.ids[hole] = 0;
    this.items[hole] = undefined;
    this.count--;
  }

  /** The items, in no particular order (a copy: the table may change while it is used). */
  values(): T[] {
    const out: T[] = [];
    for (const item of this.items) if (item !== undefined) out.push(item);
    return out;
  }

  clear(): void {
    this.ids.fill(0);
    this.items.fill(undefined);
    this.count = 0;
  }

  private place(item: T): void {
    const mask = this.mask;
    let slot = (item.id >>> 1) & mask;
    while (this.items[slot] !== undefined) slot = (slot + 1) & mask;
    this.ids[slot] = item.id;
    this.items[slot] = item;
  }

  private grow(): void {
    const old = this.items;
    const slots = old.length * 2;
    this.ids = new Int32Array(slots);
    this.items = new Array<T | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
    for (const item of old) if (item !== undefined) this.place(item);
    old.fill(undefined);
  }
}
