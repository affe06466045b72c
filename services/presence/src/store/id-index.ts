/**
 * Each known user's encoded Status, found by the id's bytes: a read answers ids straight from
 * the request's bytes, with no string made per id (a 100-id read made 100 strings before, the
 * bulk of what a call allocated, and at 32 calls in flight they lived long enough to be
 * promoted out of the young generation).
 *
 * An open-addressing table with linear probing over fixed 26-byte keys kept in one buffer;
 * deletions shift the rest of their run back (no tombstones), and the table doubles at half
 * full. Ids are Mattermost ids: 26 bytes of [a-z0-9].
 */

export const ID_LENGTH = 26;

/** Ids as bytes: the i-th is bytes[first + i * stride, first + i * stride + 26). */
export interface PackedIds {
  readonly bytes: Buffer;
  readonly first: number;
  readonly stride: number;
  readonly count: number;
}

const INITIAL_SLOTS = 1024;

/** FNV-1a over the id two bytes at a time, then a final mix (ids from other sources than NewId may share long prefixes). */
function hashAt(b: Buffer, off: number): number {
  let h = 0x811c9dc5;
  for (let i = off; i < off + ID_LENGTH; i += 2) h = Math.imul(h ^ (b[i]! | (b[i + 1]! << 8)), 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 12);
}

export class IdIndex<V extends object> {
  private keys = Buffer.alloc(INITIAL_SLOTS * ID_LENGTH);
  private hashes = new Int32Array(INITIAL_SLOTS);
  private values: (V | undefined)[] = new Array<V | undefined>(INITIAL_SLOTS).fill(undefined);
  private mask = INITIAL_SLOTS - 1;
  private used = 0;
  /** Where string ids are written to be looked up as bytes. */
  private readonly one = Buffer.alloc(ID_LENGTH);

  get size(): number {
    return this.used;
  }

  /** The value of the id at bytes[off, off + 26), if any. */
  get(bytes: Buffer, off: number): V | undefined {
    const slot = this.find(bytes, off, hashAt(bytes, off));
    return slot < 0 ? undefined : this.values[slot];
  }

  set(id: string, value: V): void {
    const key = this.bytesOf(id);
    const h = hashAt(key, 0);
    const at = this.find(key, 0, h);
    if (at >= 0) {
      this.values[at] = value;
      return;
    }
    if ((this.used + 1) * 2 > this.mask + 1) this.grow();
    this.place(key, 0, h, value);
    this.used++;
  }

  delete(id: string): void {
    const key = this.bytesOf(id);
    let hole = this.find(key, 0, hashAt(key, 0));
    if (hole < 0) return;
    // Backward-shift deletion: move later entries of the run into the hole when their home
    // slot does not lie (cyclically) between the hole and where they are.
    const mask = this.mask;
    for (let j = (hole + 1) & mask; this.values[j] !== undefined; j = (j + 1) & mask) {
      const home = this.hashes[j]! & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      this.keys.copy(this.keys, hole * ID_LENGTH, j * ID_LENGTH, (j + 1) * ID_LENGTH);
      this.hashes[hole] = this.hashes[j]!;
      this.values[hole] = this.values[j];
      hole = j;
    }
    this.values[hole] = undefined;
    this.used--;
  }

  private bytesOf(id: string): Buffer {
    if (id.length !== ID_LENGTH || this.one.write(id, 0, ID_LENGTH, "latin1") !== ID_LENGTH) throw new RangeError(`not a 26-character id: ${id}`);
    return this.one;
  }

  /** The slot holding the id, or -1. */
  private find(b: Buffer, off: number, h: number): number {
    const mask = this.mask;
    const keys = this.keys;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      if (this.values[slot] === undefined) return -1;
      if (this.hashes[slot] !== h) continue;
      let k = slot * ID_LENGTH;
      let i = off;
      const end = off + ID_LENGTH;
      while (i < end && keys[k] === b[i]) {
        k++;
        i++;
      }
      if (i === end) return slot;
    }
  }

  /** Puts a key known to be absent into the first free slot of its run. */
  private place(b: Buffer, off: number, h: number, value: V): void {
    let slot = h & this.mask;
    while (this.values[slot] !== undefined) slot = (slot + 1) & this.mask;
    b.copy(this.keys, slot * ID_LENGTH, off, off + ID_LENGTH);
    this.hashes[slot] = h;
    this.values[slot] = value;
  }

  private grow(): void {
    const { keys, hashes, values } = this;
    const slots = (this.mask + 1) * 2;
    this.keys = Buffer.alloc(slots * ID_LENGTH);
    this.hashes = new Int32Array(slots);
    this.values = new Array<V | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
    for (let s = 0; s < values.length; s++) {
      const v = values[s];
      if (v !== undefined) this.place(keys, s * ID_LENGTH, hashes[s]!, v);
    }
  }
}

const packed = { bytes: Buffer.alloc(0), first: 0, stride: ID_LENGTH, count: 0 };

/**
 * String ids as PackedIds, in a buffer shared by every caller: valid until the next call (reads
 * are synchronous). Ids must be valid Mattermost ids.
 */
export function packIds(ids: readonly string[]): PackedIds {
  const need = ids.length * ID_LENGTH;
  if (packed.bytes.length < need) packed.bytes = Buffer.alloc(Math.max(need, 2 * packed.bytes.length));
  for (let i = 0; i < ids.length; i++) packed.bytes.write(ids[i]!, i * ID_LENGTH, ID_LENGTH, "latin1");
  packed.count = ids.length;
  return packed;
}
