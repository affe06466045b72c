import { describe, expect, it } from "vitest";
import { decodeEvent, encodeEvent } from "@switchboard/bus";
import { newEvent } from "@switchboard/model";
import { withChannelSeq } from "./channel-seq-append.js";

describe("channel_seq appended by the relay", () => {
  it("overrides the envelope's channel_seq, for small and large values", () => {
    const ev = newEvent({ event: "posted", data: { a: 1 }, broadcast: { channelId: "c".repeat(26) } });
    for (const seq of [1, 127, 128, 300, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
      const back = decodeEvent(withChannelSeq(encodeEvent(ev), seq));
      expect(back.channelSeq).toBe(BigInt(seq));
      expect(back.id).toBe(ev.id);
      expect(new TextDecoder().decode(back.data)).toBe('{"a":1}');
    }
  });
});
