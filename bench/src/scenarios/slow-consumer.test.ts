import { describe, expect, it } from "vitest";
import { slowRoundFaults } from "./slow-consumer.js";

describe("slow-consumer's judgement of the slow clients", () => {
  it("passes every slow client closed by the gateway and read as 4002, nothing left stalled", () => {
    expect(slowRoundFaults([{ slowClosed: 20, codes: { "4002": 20 }, stalledAfter: 0 }], 20)).toEqual([]);
  });

  it.each([
    [
      "one not closed by the gateway",
      { slowClosed: 19, codes: { "4002": 19, open: 1 }, stalledAfter: 0 },
      [/19 of 20 slow clients closed/, /close codes read .*"open":1/],
    ],
    ["one closed with another code", { slowClosed: 20, codes: { "4002": 19, "1006": 1 }, stalledAfter: 0 }, [/close codes read \{"1006":1,"4002":19\}/]],
    ["a socket left stalled", { slowClosed: 20, codes: { "4002": 20 }, stalledAfter: 2 }, [/2 sockets still stalled/]],
  ] as const)("fails %s", (_, round, reasons) => {
    const faults = slowRoundFaults([{ slowClosed: 20, codes: { "4002": 20 }, stalledAfter: 0 }, round], 20);
    expect(faults).toHaveLength(reasons.length);
    reasons.forEach((re, i) => expect(faults[i]).toMatch(new RegExp(`^round 2: ${re.source}`)));
  });
});
