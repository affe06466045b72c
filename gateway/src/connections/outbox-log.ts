/**
 * A connection's outgoing event log: every event gets the next sequence number; the log keeps
 * the unwritten ones (at most `queueLimit`) and the last `replayEvents` written ones, so a
 * reconnect with `sequence_number` can be served exactly (docs/protocol.md §5.3).
 *
 * Entries are references to shared rendered frames, and each event's id sits in a parallel
 * array (a cross-gateway resume merges by it): a delivery costs one slot in each.
 */
export class OutboxLog {
  /** entries[i] has seq firstSeq + i. */
  private entries: Uint8Array[] = [];
  /** ids[i] is the event id of entries[i] ("" for an event without one, such as hello). */
  private ids: string[] = [];
  private firstSeq = 0;
  /** The next seq to assign. */
  private next = 0;
  /** The next seq to write to the socket. */
  private cursor = 0;

  constructor(
    private readonly replayEvents: number,
    private readonly queueLimit: number,
  ) {}

  /** Sequence number the next event will get. */
  get nextSeq(): number {
    return this.next;
  }

  /** Events assigned but not yet written. */
  get unwritten(): number {
    return this.next - this.cursor;
  }

  get hasUnwritten(): boolean {
    return this.cursor < this.next;
  }

  /** Appends an event; false when the queue is full (the event was NOT appended). */
  push(frame: Uint8Array, eventId: string): boolean {
    if (this.next - this.cursor >= this.queueLimit) return false;
    this.entries.push(frame);
    this.ids.push(eventId);
    this.next++;
    this.trim();
    return true;
  }

  /** The frame of the next unwritten event (its seq is `cursorSeq`). */
  peek(): Uint8Array | undefined {
    return this.cursor < this.next ? this.entries[this.cursor - this.firstSeq] : undefined;
  }

  get cursorSeq(): number {
    return this.cursor;
  }

  /** Marks the event at the cursor written. */
  advance(): void {
    if (this.cursor < this.next) this.cursor++;
  }

  /**
   * Positions the cursor at `seq` for a resume: the client has every event before `seq`.
   * True when every event from `seq` on is still here (written ones are sent again: a replay;
   * seq at the cursor: lossless). False when there is a gap: older than what is kept, or
   * beyond what was ever written.
   */
  rewindTo(seq: number): boolean {
    if (!Number.isSafeInteger(seq) || seq < this.firstSeq || seq > this.cursor) return false;
    this.cursor = seq;
    return true;
  }

  /**
   * What a resume from `seq` needs, for handing the connection over to another gateway: every
   * event from `seq` on (written or not) with its id. Undefined when there is a gap, as for
   * rewindTo. The arrays are copies; the frames are the shared ones (read them, never keep).
   */
  from(seq: number): { readonly frames: Uint8Array[]; readonly ids: string[] } | undefined {
    if (!Number.isSafeInteger(seq) || seq < this.firstSeq || seq > this.cursor) return undefined;
    const i = seq - this.firstSeq;
    return { frames: this.entries.slice(i), ids: this.ids.slice(i) };
  }

  /**
   * Rebuilds this log for a connection handed over by another gateway: `frames` (with their
   * `ids`) take the seqs from `first` on, none written yet; then come the events this log
   * queued meanwhile that are not among those ids (both gateways may have received one).
   * Returns how many queued events were dropped as already handed over.
   */
  adopt(first: number, frames: readonly Uint8Array[], ids: readonly string[]): number {
    const handed = new Set<string>();
    for (const id of ids) if (id !== "") handed.add(id);
    const entries = frames.slice();
    const kept = ids.slice();
    let dropped = 0;
    for (let i = this.cursor - this.firstSeq; i < this.entries.length; i++) {
      const id = this.ids[i]!;
      if (id !== "" && handed.has(id)) {
        dropped++;
        continue;
      }
      entries.push(this.entries[i]!);
      kept.push(id);
    }
    this.entries = entries;
    this.ids = kept;
    this.firstSeq = first;
    this.cursor = first;
    this.next = first + entries.length;
    return dropped;
  }

  /** Forgets everything and starts again at seq 0 (a resync: new connection id + hello). */
  reset(): void {
    this.entries = [];
    this.ids = [];
    this.firstSeq = 0;
    this.next = 0;
    this.cursor = 0;
  }

  /** Drops written entries beyond the replay window, in chunks. */
  private trim(): void {
    const keepFrom = Math.max(this.firstSeq, this.cursor - this.replayEvents);
    const drop = keepFrom - this.firstSeq;
    if (drop >= 64 || (drop > 0 && this.entries.length > this.replayEvents + this.queueLimit)) {
      this.entries.splice(0, drop);
      this.ids.splice(0, drop);
      this.firstSeq = keepFrom;
    }
  }

  /** Oldest seq still replayable. */
  get oldestSeq(): number {
    return this.firstSeq;
  }
}
