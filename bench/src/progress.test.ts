import { describe, expect, it } from "vitest";
import { createProgress, timeLeftMs } from "./progress.js";

const sink = () => {
  const chunks: string[] = [];
  return { chunks, out: { write: (s: string) => chunks.push(s) } };
};

describe("progress", () => {
  it("works out the time left from the rate so far, never above the deadline", () => {
    expect(timeLeftMs(25, 100, 1_000)).toBe(3_000);
    expect(timeLeftMs(25, 100, 1_000, 2_000)).toBe(1_000);
    expect(timeLeftMs(0, 100, 1_000)).toBeUndefined();
    expect(timeLeftMs(0, 100, 1_000, 5_000)).toBe(4_000);
    expect(timeLeftMs(100, 100, 1_000)).toBe(0);
  });

  it("writes plain lines when the output is not a terminal: at the start, at most one per interval, and at the end", () => {
    let t = 0;
    const { chunks, out } = sink();
    const p = createProgress({ out, tty: false, plainIntervalMs: 1_000, now: () => t });
    const phase = p.phase("fanout-burst", "gateway connections", { unit: "connections opened", total: 10_000 });
    t = 500;
    phase.update(1_000);
    t = 1_000;
    phase.update(2_000);
    t = 1_500;
    phase.update(3_000);
    t = 2_000;
    phase.end(10_000);
    expect(chunks).toEqual([
      "fanout-burst · gateway connections: 0/10,000 connections opened, time left unknown\n",
      "fanout-burst · gateway connections: 2,000/10,000 connections opened, 4 s left\n",
      "fanout-burst · gateway connections: 10,000/10,000 connections opened, 0 s left\n",
    ]);
    expect(chunks.join("")).not.toMatch(/[\r\x1b]/);
  });

  it("redraws one line with a bar on a terminal, and clears it before other text", () => {
    let t = 0;
    const { chunks, out } = sink();
    const p = createProgress({ out, tty: true, now: () => t });
    const phase = p.phase("fanout-burst", "round 1", { unit: "deliveries counted", total: 100, deadlineMs: 60_000 });
    t = 1_000;
    phase.update(50);
    p.log("a line");
    t = 2_000;
    phase.end(100);
    expect(chunks[1]).toBe("\r\x1b[Kfanout-burst · round 1: [############............] 50/100 deliveries counted, 1 s left");
    expect(chunks[2]).toBe("\r\x1b[K");
    expect(chunks[3]).toBe("a line\n");
    expect(chunks.at(-1)).toBe(" (2 s)\n");
  });
});
