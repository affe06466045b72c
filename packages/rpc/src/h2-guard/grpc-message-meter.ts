/**
 * How many bytes of a stream's gRPC message that has not finished arriving have come so far:
 * messages are a 5-byte prefix (a flag and a 32-bit length) and that many bytes, cut across
 * DATA frames anywhere. The server holds these bytes until the message is complete, so they are
 * what a peer that never finishes its messages makes it hold.
 */
const PREFIX_BYTES = 5;

export class MessageMeter {
  /** Bytes of the current message received so far, its prefix included; 0 between messages. */
  held = 0;
  private prefixLeft = PREFIX_BYTES;
  private declared = 0;
  private bodyLeft = 0;

  /** Takes `n` message bytes of buf from pos; returns how much `held` changed (negative when messages completed). */
  feed(buf: Buffer, pos: number, n: number): number {
    const before = this.held;
    const end = pos + n;
    let i = pos;
    while (i < end) {
      if (this.prefixLeft > 0) {
        // The flag byte is the first of five; the length is the four after it.
        if (this.prefixLeft <= 4) this.declared = this.declared * 256 + buf[i]!;
        this.prefixLeft--;
        this.held++;
        i++;
        if (this.prefixLeft === 0) {
          this.bodyLeft = this.declared;
          if (this.bodyLeft === 0) this.next();
        }
        continue;
      }
      const k = Math.min(this.bodyLeft, end - i);
      this.bodyLeft -= k;
      this.held += k;
      i += k;
      if (this.bodyLeft === 0) this.next();
    }
    return this.held - before;
  }

  private next(): void {
    this.held = 0;
    this.prefixLeft = PREFIX_BYTES;
    this.declared = 0;
  }
}
