import { describe, expect, it } from "vitest";
import { deliveryLatencies, openLoop, scheduledAt, sendCount } from "./open-loop.js";

/** A fake clock: sleeping advances it; a send may take time of its own (a stalled sender). */
function clock() {
  let t = 1_000;
  return { now: () => t, sleep: (ms: number) => ((t += ms), Promise.resolve()), advance: (ms: number) => (t += ms) };
}

describe("open loop", () => {
  it("schedules send i at start + i / rate", () => {
    expect(scheduledAt(100, 20, 0)).toBe(100);
    expect(scheduledAt(100, 20, 3)).toBe(250);
    expect(() => scheduledAt(0, 0, 1)).toThrow(/positive rate/);
    expect(sendCount(2, 10_000)).toBe(20);
    expect(sendCount(2, 100)).toBe(1);
  });

  it("never shifts the schedule when the sender falls behind: the lateness shows as lag", async () => {
    const c = clock();
    const sentAt: number[] = [];
    const r = await openLoop({
      ratePerS: 10,
      count: 4,
      now: c.now,
      sleep: c.sleep,
      send: (i) => {
        sentAt.push(c.now());
        // The second send blocks the sender for 250 ms (2.5 intervals).
        if (i === 1) c.advance(250);
        return Promise.resolve();
      },
    });
    expect(Array.from(r.scheduled)).toEqual([1_000, 1_100, 1_200, 1_300]);
    expect(sentAt).toEqual([1_000, 1_100, 1_350, 1_350]);
    expect(Array.from(r.lagMs)).toEqual([0, 0, 150, 50]);
  });

  it("does not wait for a send's answer before the next send", async () => {
    const c = clock();
    const started: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const run = openLoop({ ratePerS: 100, count: 3, now: c.now, sleep: c.sleep, send: (i) => (started.push(i), gate) });
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual([0, 1, 2]);
    release();
    await run;
  });

  it("throws a send's failure once all have settled", async () => {
    const c = clock();
    await expect(
      openLoop({ ratePerS: 10, count: 3, now: c.now, sleep: c.sleep, send: (i) => (i === 1 ? Promise.reject(new Error("boom")) : Promise.resolve()) }),
    ).rejects.toThrow("boom");
  });
});

describe("deliveryLatencies", () => {
  it("measures from the scheduled time; the last member's per send; a missing delivery is Infinity", () => {
    const scheduled = Float64Array.from([0, 100]);
    // connection 0 got both, connection 1 only the first (late).
    const arrived = Float64Array.from([5, 107, 40, 0]);
    const r = deliveryLatencies(scheduled, arrived, 2);
    expect(r.perDelivery).toEqual([5, 7, 40]);
    expect(r.lastMemberPerSend).toEqual([40, Infinity]);
  });

  it("skips the pairs a connection does not expect (other channels)", () => {
    const r = deliveryLatencies(Float64Array.from([0, 100]), Float64Array.from([5, 0, 0, 103]), 2, (c, i) => c === i);
    expect(r.perDelivery).toEqual([3, 5]);
    expect(r.lastMemberPerSend).toEqual([3, 5]);
  });

  it("rejects a table of the wrong size", () => {
    expect(() => deliveryLatencies(Float64Array.from([0]), Float64Array.from([1, 2, 3]), 2)).toThrow(/arrival table/);
  });
});
