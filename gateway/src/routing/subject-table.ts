import type { Bus, BusSubscription } from "@switchboard/bus";

/**
 * Reference-counted NATS subscriptions: a gateway holds one subscription per subject its
 * local users need, whatever the number of users needing it.
 */
export class SubjectTable {
  private readonly subs = new Map<string, { sub: BusSubscription; refs: number }>();

  constructor(
    private readonly bus: Bus,
    private readonly handler: (subject: string, data: Uint8Array) => void,
    private readonly onCount?: (n: number) => void,
  ) {}

  /** Returns true when this call created the subscription (it was not held before). */
  acquire(subject: string): boolean {
    const e = this.subs.get(subject);
    if (e) {
      e.refs++;
      return false;
    }
    const sub = this.bus.subscribe(subject, (m) => this.handler(m.subject, m.data));
    this.subs.set(subject, { sub, refs: 1 });
    this.onCount?.(this.subs.size);
    return true;
  }

  release(subject: string): void {
    const e = this.subs.get(subject);
    if (!e) return;
    if (--e.refs > 0) return;
    e.sub.unsubscribe();
    this.subs.delete(subject);
    this.onCount?.(this.subs.size);
  }

  holds(subject: string): boolean {
    return this.subs.has(subject);
  }

  /** Replaces every subscription by a new one (the server may have lost them). */
  resubscribe(): void {
    for (const [subject, e] of this.subs) {
      e.sub.unsubscribe();
      e.sub = this.bus.subscribe(subject, (m) => this.handler(m.subject, m.data));
    }
  }

  clear(): void {
    for (const e of this.subs.values()) e.sub.unsubscribe();
    this.subs.clear();
    this.onCount?.(0);
  }
}
