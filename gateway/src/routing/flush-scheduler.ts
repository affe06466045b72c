import type { Connection } from "../connections/connection.js";

/**
 * Collects the connections that got events during this event-loop turn and writes each
 * one's frames in a single corked batch at the end of the turn: one write per socket per
 * turn, however many events arrived.
 */
export class FlushScheduler {
  private dirty: Connection[] = [];
  private scheduled = false;

  constructor(private readonly onStalled: (conn: Connection) => void) {}

  mark(conn: Connection): void {
    if (conn.dirty) return;
    conn.dirty = true;
    this.dirty.push(conn);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const list = this.dirty;
    this.dirty = [];
    for (const conn of list) {
      conn.dirty = false;
      if (!conn.flush()) this.onStalled(conn);
    }
  };
}
