/**
 * Completeness of a burst, by event id and order per client, not only by count: every client
 * must receive every event of the burst exactly once and in the order it was published. A
 * count can come out right with one event missing and another twice, or with two swapped;
 * this cannot.
 *
 * Which order: by default the order the ids were given in (the bench publishes them itself,
 * one after another). With `order: "agreed"`, the order the server gave them, read from what
 * the connections received: every connection must get the events in one and the same order.
 * That is the check for posts created over REST, whose concurrent creates commit (and are
 * published) in an order the sender does not choose; a connection that saw two of them the
 * other way round from the rest is still out of order. The agreed order is the one most
 * connections that got every event share.
 *
 * With `groups`, each event belongs to one group (a channel) and each connection to one: a
 * connection must get every event of its group, and none of another group (counted as not of
 * the burst); the agreed order is agreed per group.
 *
 * `DeliveryLedger` is the load client's side: the burst's ids in publish order, and per
 * connection a few counters in typed arrays, allocated once per burst, so that recording a
 * delivery allocates nothing on the usual path (the frame's id compared in place with the
 * id the connection expects next). `verdict` is the bench's side: the ledger's totals
 * judged, with a reason a row carries when it is marked failed.
 */

/** The ids this module compares are 26 characters, as Mattermost's (and Switchboard's) are. */
const ID_LENGTH = 26;

export class DeliveryLedger {
  readonly size: number;
  readonly connections: number;
  /** The burst's ids, ID_LENGTH latin1 bytes each, in publish order. */
  private readonly ids: Buffer;
  private readonly index = new Map<string, number>();
  /** Per connection: one past the highest index it has received (the next it expects). */
  private readonly next: Int32Array;
  private readonly distinct: Int32Array;
  private readonly duplicates: Int32Array;
  private readonly outOfOrder: Int32Array;
  private readonly unexpected: Int32Array;
  /** Per connection: when its last missing event arrived (ms, performance.timeOrigin based), 0 until then. */
  private readonly completedAt: Float64Array;
  /** Per connection, a bit per event: received at least once. */
  private readonly seen: Uint8Array;
  private readonly stride: number;
  /** With `timed`: per connection and event (conn * size + k), when it first arrived (ms, performance.timeOrigin based), 0 until then. */
  private readonly arrived: Float64Array | undefined;
  /** With `order: "agreed"`: per connection, the burst indexes in the order they first arrived (conn * size + n). */
  private readonly sequence: Int32Array | undefined;
  /** With `groups`: the group of each event and of each connection, and each group's size. */
  private readonly groupOfEvent: Int32Array | undefined;
  private readonly groupOfConnection: Int32Array | undefined;
  private readonly groupSize: Int32Array | undefined;

  constructor(ids: readonly string[], connections: number, timed = false, order: LedgerOrder = "publish", groups?: LedgerGroups) {
    this.size = ids.length;
    this.connections = connections;
    this.ids = Buffer.alloc(ids.length * ID_LENGTH);
    ids.forEach((id, i) => {
      if (id.length !== ID_LENGTH) throw new Error(`an id of ${String(id.length)} characters: ${id}`);
      if (this.index.has(id)) throw new Error(`the id ${id} twice in one burst`);
      this.ids.write(id, i * ID_LENGTH, "latin1");
      this.index.set(id, i);
    });
    this.next = new Int32Array(connections);
    this.distinct = new Int32Array(connections);
    this.duplicates = new Int32Array(connections);
    this.outOfOrder = new Int32Array(connections);
    this.unexpected = new Int32Array(connections);
    this.completedAt = new Float64Array(connections);
    this.stride = Math.ceil(ids.length / 8);
    this.seen = new Uint8Array(connections * this.stride);
    this.arrived = timed ? new Float64Array(connections * ids.length) : undefined;
    this.sequence = order === "agreed" ? new Int32Array(connections * ids.length) : undefined;
    if (groups) {
      if (groups.ofEvent.length !== ids.length || groups.ofConnection.length !== connections) {
        throw new Error(
          `groups for ${String(groups.ofEvent.length)} events and ${String(groups.ofConnection.length)} connections, not ${String(ids.length)} and ${String(connections)}`,
        );
      }
      this.groupOfEvent = Int32Array.from(groups.ofEvent);
      this.groupOfConnection = Int32Array.from(groups.ofConnection);
      this.groupSize = new Int32Array(Math.max(0, ...groups.ofEvent, ...groups.ofConnection) + 1);
      for (const g of groups.ofEvent) this.groupSize[g]!++;
    }
  }

  /** How many events connection `conn` must get: its group's, or the whole burst. */
  private expectedOf(conn: number): number {
    return this.groupSize ? this.groupSize[this.groupOfConnection![conn]!]! : this.size;
  }

  /**
   * Records that connection `conn` received the event whose id starts at `at` in `frame`
   * (at < 0: a burst-shaped frame without a readable id, which counts as unexpected).
   */
  record(conn: number, frame: Uint8Array, at: number): void {
    if (conn < 0 || conn >= this.connections) return;
    const k = at < 0 || at + ID_LENGTH > frame.length ? -1 : this.indexAt(conn, frame, at);
    if (k < 0 || (this.groupOfEvent && this.groupOfEvent[k] !== this.groupOfConnection![conn])) {
      this.unexpected[conn]!++;
      return;
    }
    const byte = conn * this.stride + (k >> 3);
    const bit = 1 << (k & 7);
    if ((this.seen[byte]! & bit) !== 0) {
      this.duplicates[conn]!++;
      return;
    }
    this.seen[byte]! |= bit;
    if (this.arrived) this.arrived[conn * this.size + k] = performance.timeOrigin + performance.now();
    // Agreed order: judged in summary(), against what the other connections got.
    if (this.sequence) {
      this.sequence[conn * this.size + this.distinct[conn]!] = k;
      this.next[conn] = k + 1;
    } else if (k + 1 < this.next[conn]!) this.outOfOrder[conn]!++;
    // Below the highest already received: it came after an event published later.
    else this.next[conn] = k + 1;
    if (++this.distinct[conn]! === this.expectedOf(conn)) this.completedAt[conn] = performance.timeOrigin + performance.now();
  }

  /** The burst index of the id at `at`: the one the connection expects next, compared in place, else looked up. */
  private indexAt(conn: number, frame: Uint8Array, at: number): number {
    const k = this.next[conn]!;
    if (k < this.size && this.ids.compare(frame, at, at + ID_LENGTH, k * ID_LENGTH, (k + 1) * ID_LENGTH) === 0) return k;
    return this.index.get(Buffer.from(frame.buffer, frame.byteOffset + at, ID_LENGTH).toString("latin1")) ?? -1;
  }

  /** With `timed`: when each connection first got each event, `[conn * size + k]` (0: never); open-loop latency reads it (open-loop.ts). */
  arrivals(): Float64Array {
    if (!this.arrived) throw new Error("this ledger was not made timed");
    return this.arrived;
  }

  /**
   * With `order: "agreed"`: the order most connections that got every event share (burst
   * indexes), and per connection its deliveries that came after an event that order puts later
   * (counted as in publish order: two swapped make one). Without: the publish order, and the
   * counts kept as the deliveries came.
   */
  private judgeOrder(): { rank: Int32Array; outOfOrder: Int32Array; displaced: number } {
    const seq = this.sequence;
    // Publish order: an event's rank is its place among its group's events (or the burst's).
    const publishRank = new Int32Array(this.size);
    const seen = new Int32Array(this.groupSize?.length ?? 1);
    for (let k = 0; k < this.size; k++) publishRank[k] = seen[this.groupOfEvent?.[k] ?? 0]!++;
    if (!seq) return { rank: publishRank, outOfOrder: this.outOfOrder, displaced: 0 };
    // Per group, the order most of its connections that got all of it share.
    const votes = new Map<string, { n: number; conn: number; group: number }>();
    for (let c = 0; c < this.connections; c++) {
      const n = this.expectedOf(c);
      if (n === 0 || this.distinct[c] !== n) continue;
      const group = this.groupOfConnection?.[c] ?? 0;
      const key = `${String(group)}:${seq.subarray(c * this.size, c * this.size + n).join(",")}`;
      const v = votes.get(key);
      if (v) v.n++;
      else votes.set(key, { n: 1, conn: c, group });
    }
    const best = new Map<number, { n: number; conn: number }>();
    for (const v of votes.values()) if (!best.has(v.group) || v.n > best.get(v.group)!.n) best.set(v.group, v);
    // A group no connection got whole is judged against the publish order.
    const rank = publishRank.slice();
    for (const { conn } of best.values()) {
      for (let r = 0; r < this.expectedOf(conn); r++) rank[seq[conn * this.size + r]!] = r;
    }
    const outOfOrder = new Int32Array(this.connections);
    for (let c = 0; c < this.connections; c++) {
      let highest = -1;
      for (let n = 0; n < this.distinct[c]!; n++) {
        const r = rank[seq[c * this.size + n]!]!;
        if (r < highest) outOfOrder[c]!++;
        else highest = r;
      }
    }
    let displaced = 0;
    for (let k = 0; k < this.size; k++) if (rank[k] !== publishRank[k]) displaced++;
    return { rank, outOfOrder, displaced };
  }

  /** What was received, per connection where something went wrong (at most `detail` of them), and in total. */
  summary(detail = 20): LedgerSummary {
    const order = this.judgeOrder();
    let expected = 0;
    let received = 0;
    let duplicates = 0;
    let outOfOrder = 0;
    let unexpected = 0;
    let affected = 0;
    const examples: ConnectionFault[] = [];
    const completedAt: number[] = [];
    for (let c = 0; c < this.connections; c++) {
      received += this.distinct[c]!;
      duplicates += this.duplicates[c]!;
      outOfOrder += order.outOfOrder[c]!;
      unexpected += this.unexpected[c]!;
      if (this.completedAt[c]! > 0) completedAt.push(this.completedAt[c]!);
      const missing = this.expectedOf(c) - this.distinct[c]!;
      expected += this.expectedOf(c);
      if (missing > 0 || this.duplicates[c]! > 0 || order.outOfOrder[c]! > 0 || this.unexpected[c]! > 0) {
        affected++;
        if (examples.length < detail) {
          examples.push({ connection: c, missing, duplicates: this.duplicates[c]!, outOfOrder: order.outOfOrder[c]!, unexpected: this.unexpected[c]! });
        }
      }
    }
    return {
      events: this.size,
      connections: this.connections,
      expected,
      received,
      duplicates,
      outOfOrder,
      unexpected,
      affected,
      examples,
      completedAt,
      order: this.sequence ? "agreed" : "publish",
      displaced: order.displaced,
    };
  }
}

/** Per event (in publish order) and per connection, the group it belongs to (0, 1, …): a connection must get its group's events only. */
export interface LedgerGroups {
  readonly ofEvent: readonly number[];
  readonly ofConnection: readonly number[];
}

/** Which order every connection must get the events in: the order the ids were given, or the one the connections agree on (the server's). */
export type LedgerOrder = "publish" | "agreed";

interface ConnectionFault {
  connection: number;
  missing: number;
  duplicates: number;
  outOfOrder: number;
  unexpected: number;
}

/** A ledger's totals (plain data: it crosses the load client's IPC). */
export interface LedgerSummary {
  /** Events in the burst, and connections that should each receive all of them (or, with groups, all of their group's). */
  events: number;
  connections: number;
  /** Deliveries expected in all: events × connections, or with groups each connection's group size, summed. */
  expected: number;
  /** Distinct burst events received, over all connections. */
  received: number;
  /** Deliveries of an event the connection already had. */
  duplicates: number;
  /** Deliveries that came after an event published later. */
  outOfOrder: number;
  /** Burst-shaped deliveries whose id is not in the burst. */
  unexpected: number;
  /** Connections with any of the above or a missing event; the first few of them. */
  affected: number;
  examples: ConnectionFault[];
  /** Per connection that received the whole burst: when its last missing event arrived (ms, performance.timeOrigin based). */
  completedAt: number[];
  /** The order `outOfOrder` is counted against. */
  order: LedgerOrder;
  /** Events whose place in that order is not their place in the order the ids were given (0 in publish order). */
  displaced: number;
}

export interface Verdict {
  readonly complete: boolean;
  readonly expected: number;
  readonly delivered: number;
  readonly missing: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly unexpected: number;
  /** With the agreed order: how many events the server put elsewhere than the order they were sent in (not a fault). */
  readonly displaced: number;
  /** Why the row fails, when it does ("" when complete). */
  readonly reason: string;
}

/** Judges a ledger's totals: complete only with every event on every connection once, in order. */
export function verdict(s: LedgerSummary): Verdict {
  const expected = s.expected;
  const missing = expected - s.received;
  const parts: string[] = [];
  if (missing > 0) parts.push(`${String(missing)} missing`);
  if (s.duplicates > 0) parts.push(`${String(s.duplicates)} duplicated`);
  if (s.outOfOrder > 0) parts.push(`${String(s.outOfOrder)} out of ${s.order === "agreed" ? "the order the other connections got" : "order"}`);
  if (s.unexpected > 0) parts.push(`${String(s.unexpected)} not of the burst`);
  const complete = parts.length === 0;
  const first = s.examples[0];
  const where = first
    ? ` on ${String(s.affected)} of ${String(s.connections)} connections (e.g. #${String(first.connection)}: ${String(first.missing)} missing, ${String(first.duplicates)} duplicated, ${String(first.outOfOrder)} out of order)`
    : "";
  return {
    complete,
    expected,
    delivered: s.received + s.duplicates,
    missing,
    duplicates: s.duplicates,
    outOfOrder: s.outOfOrder,
    unexpected: s.unexpected,
    displaced: s.displaced,
    reason: complete ? "" : `incomplete deliveries: ${parts.join(", ")}${where}`,
  };
}
