import { describe, expect, it } from "vitest";
import { OutboxLog } from "./outbox-log.js";

const p = (n: number) => new Uint8Array([n]);

function writeAll(log: OutboxLog): number[] {
  const out: number[] = [];
  for (let e = log.peek(); e; e = log.peek()) {
    out.push(log.cursorSeq);
    log.advance();
  }
  return out;
}

describe("OutboxLog", () => {
  it("assigns contiguous sequence numbers from 0", () => {
    const log = new OutboxLog(128, 256);
    for (let i = 0; i < 5; i++) log.push(p(i), "");
    expect(writeAll(log)).toEqual([0, 1, 2, 3, 4]);
    expect(log.nextSeq).toBe(5);
  });

  it("replays from any kept seq, serves lossless resumes, refuses gaps", () => {
    const log = new OutboxLog(128, 256);
    for (let i = 0; i < 300; i++) {
      log.push(p(i), "");
      writeAll(log);
    }
    expect(log.oldestSeq).toBeLessThanOrEqual(300 - 128);
    expect(log.rewindTo(300)).toBe(true); // lossless
    expect(writeAll(log)).toEqual([]);
    expect(log.rewindTo(250)).toBe(true); // replay
    expect(writeAll(log)).toEqual(Array.from({ length: 50 }, (_, i) => 250 + i));
    expect(log.rewindTo(300 - 128)).toBe(true);
    writeAll(log);
    expect(log.rewindTo(10)).toBe(false); // too old
    expect(log.rewindTo(301)).toBe(false); // never sent
    expect(log.rewindTo(-1)).toBe(false);
  });

  it("queues while nothing is written and refuses past the queue limit", () => {
    const log = new OutboxLog(128, 4);
    for (let i = 0; i < 4; i++) expect(log.push(p(i), "")).toBe(true);
    expect(log.push(p(9), "")).toBe(false);
    expect(log.unwritten).toBe(4);
    log.advance();
    expect(log.push(p(9), "")).toBe(true);
  });

  it("a reset starts a new sequence at 0", () => {
    const log = new OutboxLog(128, 256);
    log.push(p(1), "");
    writeAll(log);
    log.reset();
    log.push(p(2), "");
    expect(writeAll(log)).toEqual([0]);
  });

  it("hands over every event from a kept seq with its id, and refuses a gap", () => {
    const log = new OutboxLog(128, 256);
    for (let i = 0; i < 10; i++) log.push(p(i), `e${i}`);
    for (let i = 0; i < 6; i++) log.advance(); // 0..5 written, 6..9 queued
    const h = log.from(4)!;
    expect(h.frames.map((f) => f[0])).toEqual([4, 5, 6, 7, 8, 9]);
    expect(h.ids).toEqual(["e4", "e5", "e6", "e7", "e8", "e9"]);
    expect(log.from(6)!.ids).toEqual(["e6", "e7", "e8", "e9"]); // lossless: only the queued
    expect(log.from(7)).toBeUndefined(); // beyond what was written
    expect(log.from(-1)).toBeUndefined();
  });

  it("adopts handed-over events at their seqs, then what it queued meanwhile minus those ids", () => {
    // The new gateway's log recorded e7..e11 while the claim was under way; the holder had e4..e9.
    const log = new OutboxLog(128, 256);
    for (let i = 7; i < 12; i++) log.push(p(i), `e${i}`);
    const dropped = log.adopt(
      4,
      [4, 5, 6, 7, 8, 9].map((i) => p(i)),
      ["e4", "e5", "e6", "e7", "e8", "e9"],
    );
    expect(dropped).toBe(3);
    const seqs: number[] = [];
    const got: number[] = [];
    for (let e = log.peek(); e; e = log.peek()) {
      seqs.push(log.cursorSeq);
      got.push(e[0]!);
      log.advance();
    }
    expect(seqs).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(got).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(log.nextSeq).toBe(12);
    expect(log.rewindTo(4)).toBe(true); // replayable on this gateway from then on
  });

  it("never merges events without an id away", () => {
    const log = new OutboxLog(128, 256);
    log.push(p(1), "");
    expect(log.adopt(0, [p(0)], [""])).toBe(0);
    expect(log.nextSeq).toBe(2);
  });
});
