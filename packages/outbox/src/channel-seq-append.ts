/** The relay's append of channel_seq to an encoded envelope (see outboxChannelSeqMigration). */
/** Envelope field 9 (channel_seq), varint wire type: tag byte 9 << 3 | 0. */
const CHANNEL_SEQ_TAG = 0x48;

/** The payload with channel_seq appended as a later occurrence of field 9 (it overrides). */
export function withChannelSeq(payload: Uint8Array, seq: number): Uint8Array {
  // A varint in plain numbers (seq stays below 2^53): 7 bits a byte, low bits first.
  let size = 1;
  for (let v = seq; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  const out = new Uint8Array(payload.length + 1 + size);
  out.set(payload, 0);
  let at = payload.length;
  out[at++] = CHANNEL_SEQ_TAG;
  let v = seq;
  for (; v >= 0x80; v = Math.floor(v / 0x80)) out[at++] = (v % 0x80) | 0x80;
  out[at] = v;
  return out;
}
