/**
 * The last N event ids seen. Core NATS subscribers receive every publish attempt, so an
 * outbox re-publish after a crash (which JetStream itself stores once) reaches the gateway
 * twice; this drops the second copy.
 */
export class RecentIds {
  private readonly set = new Set<string>();
  private readonly ring: (string | undefined)[];
  private head = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array<string | undefined>(capacity);
  }

  /** True if the id was seen before; records it otherwise. */
  seenBefore(id: string): boolean {
    if (this.set.has(id)) return true;
    const old = this.ring[this.head];
    if (old !== undefined) this.set.delete(old);
    this.ring[this.head] = id;
    this.head = (this.head + 1) % this.capacity;
    this.set.add(id);
    return false;
  }
}
