/**
 * The last N event ids delivered. Core NATS subscribers receive every publish attempt, so an
 * outbox re-publish after a crash (which JetStream itself stores once) reaches the gateway
 * twice; and a repair or a back-fill reads again from the stream what may have arrived live.
 * This drops the second copy.
 */
export class RecentIds {
  private readonly set = new Set<string>();
  private readonly ring: (string | undefined)[];
  private head = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array<string | undefined>(capacity);
  }

  has(id: string): boolean {
    return this.set.has(id);
  }

  /** Records an id (the caller checked has() first). */
  add(id: string): void {
    const old = this.ring[this.head];
    if (old !== undefined) this.set.delete(old);
    this.ring[this.head] = id;
    this.head = (this.head + 1) % this.capacity;
    this.set.add(id);
  }
}
