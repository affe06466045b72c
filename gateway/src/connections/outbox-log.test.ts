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
    for (let i = 0; i < 5; i++) log.push(p(i));
    expect(writeAll(log)).toEqual([0, 1, 2, 3, 4]);
    expect(log.nextSeq).toBe(5);
  });

  it("replays from any kept seq, serves lossless resumes, refuses gaps", () => {
    const log = new OutboxLog(128, 256);
    for (let i = 0; i < 300; i++) {
      log.push(p(i));
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
    for (let i = 0; i < 4; i++) expect(log.push(p(i))).toBe(true);
    expect(log.push(p(9))).toBe(false);
    expect(log.unwritten).toBe(4);
    log.advance();
    expect(log.push(p(9))).toBe(true);
  });

  it("a reset starts a new sequence at 0", () => {
    const log = new OutboxLog(128, 256);
    log.push(p(1));
    writeAll(log);
    log.reset();
    log.push(p(2));
    expect(writeAll(log)).toEqual([0]);
  });
});
