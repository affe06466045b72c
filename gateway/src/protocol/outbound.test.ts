import { create } from "@bufbuild/protobuf";
import { BroadcastSchema } from "@switchboard/proto/events";
import { describe, expect, it } from "vitest";
import { broadcastJson, failReply, FrameWriter, okReply, renderEvent, SEQ_SLOT, withFields } from "./outbound.js";

const dec = new TextDecoder();

describe("outbound frames", () => {
  it("renders an event once and appends each connection's seq", () => {
    const f = renderEvent("posted", '{"post":"{}","channel_type":"O"}', broadcastJson(create(BroadcastSchema, { channelId: "c".repeat(26) })));
    const w = new FrameWriter();
    // In the slot (reused bytes, shorter seqs after longer ones), then past it (a copy).
    for (const seq of [0, 7, 10, 99_999_999, 5, 100_000_000, 123_456_789_012, 3]) {
      const bytes = w.frame(f.bytes, seq);
      const text = dec.decode(bytes);
      expect(text.endsWith(`"seq":${String(seq).padStart(SEQ_SLOT)}}`) || text.endsWith(`"seq":${seq}}`)).toBe(true);
      expect(bytes === f.bytes).toBe(seq < 10 ** SEQ_SLOT);
      const msg = JSON.parse(text) as { seq: number; event: string; data: Record<string, unknown>; broadcast: unknown };
      expect(msg.seq).toBe(seq);
      expect(msg.event).toBe("posted");
      expect(msg.data.channel_type).toBe("O");
      expect(msg.broadcast).toEqual({ omit_users: null, user_id: "", channel_id: "c".repeat(26), team_id: "", connection_id: "", omit_connection_id: "" });
    }
  });

  it("renders Mattermost's broadcast object including omit_users and the data split flags", () => {
    const b = JSON.parse(
      broadcastJson(create(BroadcastSchema, { omitUsers: ["u".repeat(26)], channelId: "c".repeat(26), containsSensitiveData: true })),
    ) as Record<string, unknown>;
    expect(b.omit_users).toEqual({ ["u".repeat(26)]: true });
    expect(b.contains_sensitive_data).toBe(true);
    expect("contains_sanitized_data" in b).toBe(false);
  });

  it("adds per-recipient fields to a data object", () => {
    expect(JSON.parse(withFields('{"a":1}', { mentions: '["x"]', should_ack: true }))).toEqual({ a: 1, mentions: '["x"]', should_ack: true });
    expect(JSON.parse(withFields("{}", { b: 2 }))).toEqual({ b: 2 });
  });

  it("renders replies with seq_reply and no seq", () => {
    expect(JSON.parse(okReply(3))).toEqual({ status: "OK", seq_reply: 3 });
    expect(JSON.parse(okReply(4, { text: "pong" }))).toEqual({ status: "OK", seq_reply: 4, data: { text: "pong" } });
    const f = JSON.parse(failReply(5, "api.web_socket_router.bad_action.app_error", "bad", 500)) as Record<string, unknown>;
    expect(f).toEqual({
      status: "FAIL",
      seq_reply: 5,
      error: { id: "api.web_socket_router.bad_action.app_error", message: "bad", detailed_error: "", status_code: 500 },
    });
    expect("seq" in f).toBe(false);
    // An internal failure's reply names the request id its detail was logged under.
    expect(JSON.parse(failReply(6, "app.internal_error", "An internal error occurred.", 500, "r".repeat(26)))).toEqual({
      status: "FAIL",
      seq_reply: 6,
      error: { id: "app.internal_error", message: "An internal error occurred.", detailed_error: "", request_id: "r".repeat(26), status_code: 500 },
    });
  });
});
