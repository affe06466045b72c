import { describe, expect, it } from "vitest";
import type { Actor } from "@switchboard/tokens";
import { renderEvent } from "../protocol/outbound.js";
import { Connection } from "./connection.js";
import type { SocketPort } from "./socket-port.js";

const dec = new TextDecoder();
const actor: Actor = { userId: "u".repeat(26), sessionId: "s".repeat(26), roles: "system_user", isSystemAdmin: false, expiresAt: Date.now() + 3_600_000 };

/** A socket whose kernel takes `accept` bytes in all; the rest stays buffered in uWS. */
class BudgetSocket implements SocketPort {
  sent: { seq: number; n: number }[] = [];
  private total = 0;
  constructor(public accept: number) {}
  send(frame: Uint8Array | string) {
    const text = typeof frame === "string" ? frame : dec.decode(frame);
    const msg = JSON.parse(text) as { seq: number; data: { n: number } };
    this.sent.push({ seq: msg.seq, n: msg.data.n });
    this.total += text.length + 2;
  }
  bufferedAmount() {
    return Math.max(0, this.total - this.accept);
  }
  cork(fn: () => void) {
    fn();
  }
  end() {}
}

const frames = Array.from({ length: 10 }, (_, n) => renderEvent("x", JSON.stringify({ n, pad: "p".repeat(1000) }), "{}"));

describe("Connection.flush", () => {
  it("stops at the socket's byte budget and resumes where it stopped", () => {
    const conn = new Connection("c".repeat(26), actor, "t", { replayEvents: 64, queueLimit: 64, maxBufferedBytes: 3000 });
    const s = new BudgetSocket(0);
    conn.socket = s;
    for (const f of frames) conn.deliver(f, "");
    expect(conn.flush()).toBe(false);
    // Each frame is over 1,000 bytes: three fit under 3,000 buffered, the fourth is not sent.
    expect(s.sent.map((m) => m.seq)).toEqual([0, 1, 2]);
    s.accept = Infinity; // the kernel took it all (the drain)
    expect(conn.flush()).toBe(true);
    expect(s.sent.map((m) => m.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.sent.map((m) => m.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("keeps writing past the budget's worth of bytes while the socket actually has room", () => {
    const conn = new Connection("c".repeat(26), actor, "t", { replayEvents: 64, queueLimit: 64, maxBufferedBytes: 3000 });
    const s = new BudgetSocket(Infinity);
    conn.socket = s;
    for (const f of frames) conn.deliver(f, "");
    expect(conn.flush()).toBe(true);
    expect(s.sent.map((m) => m.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("gives two connections sharing one rendered frame their own seq", () => {
    const a = new Connection("a".repeat(26), actor, "t", { replayEvents: 64, queueLimit: 64, maxBufferedBytes: 1 << 20 });
    const b = new Connection("b".repeat(26), actor, "t", { replayEvents: 64, queueLimit: 64, maxBufferedBytes: 1 << 20 });
    const sa = new BudgetSocket(Infinity);
    const sb = new BudgetSocket(Infinity);
    a.socket = sa;
    b.socket = sb;
    for (let i = 0; i < 12; i++) a.deliver(frames[0]!, "");
    for (const f of frames.slice(0, 3)) b.deliver(f, "");
    expect(b.flush()).toBe(true);
    expect(a.flush()).toBe(true);
    expect(sb.sent.map((m) => m.seq)).toEqual([0, 1, 2]);
    expect(sa.sent.map((m) => m.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });
});
