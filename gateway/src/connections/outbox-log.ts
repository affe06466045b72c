/**
 * A connection's outgoing event log: every event gets the next sequence number; the log keeps
 * the unwritten ones (at most `queueLimit`) and the last `replayEvents` written ones, so a
 * reconnect with `sequence_number` can be served exactly (docs/protocol.md §5.3).
 *
 * Entries are references to shared rendered frames: a delivery costs one array slot.
 */
export class OutboxLog {
  /** entries[i] has seq firstSeq + i. */
  private entries: Uint8Array[] = [];
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
  push(frame: Uint8Array): boolean {
    if (this.next - this.cursor >= this.queueLimit) return false;
    this.entries.push(frame);
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

  /** Forgets everything and starts again at seq 0 (a resync: new connection id + hello). */
  reset(): void {
    this.entries = [];
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
      this.firstSeq = keepFrom;
    }
  }

  /** Oldest seq still replayable. */
  get oldestSeq(): number {
    return this.firstSeq;
  }
}
