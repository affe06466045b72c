import { describe, expect, it } from "vitest";
import { pastRetention } from "./nats-recovery.js";

const T = 1_000_000;
const state = (o: Partial<Parameters<typeof pastRetention>[0]>) => ({
  messages: 10,
  firstSeq: 1,
  lastSeq: 10,
  firstTimeMs: T,
  lastTimeMs: T,
  createdMs: T,
  ...o,
});

describe("whether the stream covers an outage", () => {
  it("does when nothing left its head, or what left is older than the outage", () => {
    expect(pastRetention(state({ firstTimeMs: T + 500 }), T + 1000, T)).toBe(false);
    expect(pastRetention(state({ firstSeq: 50, firstTimeMs: T - 1 }), T + 1000, T)).toBe(false);
    expect(pastRetention(state({ messages: 0, lastSeq: 0, firstTimeMs: 0, lastTimeMs: 0 }), T + 1000, T)).toBe(false);
    expect(pastRetention(state({ messages: 0, firstSeq: 11, firstTimeMs: 0, lastTimeMs: T - 1 }), T + 1000, T)).toBe(false);
  });

  it("does not when its head moved past the outage's start, it was emptied since, or created again", () => {
    expect(pastRetention(state({ firstSeq: 50, firstTimeMs: T + 1 }), T + 1000, T)).toBe(true);
    expect(pastRetention(state({ messages: 0, firstSeq: 11, firstTimeMs: 0, lastTimeMs: T + 1 }), T + 1000, T)).toBe(true);
    expect(pastRetention(state({ messages: 0, firstSeq: 11, firstTimeMs: 0, lastTimeMs: 0 }), T + 1000, T)).toBe(true);
    expect(pastRetention(state({ createdMs: T + 1001 }), T + 1000, T)).toBe(true);
  });
});
