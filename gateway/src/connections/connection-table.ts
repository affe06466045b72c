import type { Connection } from "./connection.js";

/** A connection as the presence service knows it. */
export interface OpenConnection {
  readonly connectionId: string;
  readonly userId: string;
  readonly clientIp: string;
}

/**
 * The connections this gateway keeps, by connection id: those with a socket and those
 * waiting for a resume. The sessions layer adds and removes them; others only read.
 */
export class ConnectionTable {
  private readonly byId = new Map<string, Connection>();

  get(id: string): Connection | undefined {
    return this.byId.get(id);
  }

  add(conn: Connection): void {
    this.byId.set(conn.id, conn);
  }

  get size(): number {
    return this.byId.size;
  }
  delete(conn: Connection): void {
    this.byId.delete(conn.id);
  }

  /** Every connection; entries may be deleted while this is iterated (a Map iterator). */
  values(): IterableIterator<Connection> {
    return this.byId.values();
  }

  /** The connections with a socket (a full presence snapshot). */
  open(): OpenConnection[] {
    const out: OpenConnection[] = [];
    for (const c of this.byId.values()) if (c.attached) out.push({ connectionId: c.id, userId: c.userId, clientIp: c.clientIp });
    return out;
  }

  /** Connections with a socket now (computed on demand: load reports). */
  countAttached(): number {
    return this.byId.size - this.countDetached();
  }

  /** Connections kept for a resume without a socket (computed on demand: metrics scrape). */
  countDetached(): number {
    let n = 0;
    for (const c of this.byId.values()) if (!c.attached) n++;
    return n;
  }
}
