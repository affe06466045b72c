import { describe, expect, it } from "vitest";
import { checkSummary, latenciesFromLog } from "./h2load.js";

/** h2load 1.52's summary of a 3 s run, as it prints it (12 calls cut off at the end). */
function summary(o: { done: number; failed?: number; errored?: number; twoXx: number; data: number }): string {
  return [
    "finished in 3.00s, 28341.67 req/s, 71.27MB/s",
    `requests: ${o.done} total, ${o.done + 32} started, ${o.done} done, ${o.done - (o.failed ?? 0) - (o.errored ?? 0)} succeeded, ${o.failed ?? 0} failed, ${o.errored ?? 0} errored, 0 timeout`,
    `status codes: ${o.twoXx} 2xx, 0 3xx, 0 4xx, 0 5xx`,
    `traffic: 213.81MB (224200263) total, 249.23KB (255215) headers (space savings 95.77%), 211.26MB (${o.data}) data`,
    "                     min         max         mean         sd        +/- sd",
    "time for request:      251us     24.71ms      1.08ms      1.44ms    94.94%",
  ].join("\n");
}

describe("h2load summary check", () => {
  const frame = 5 + 2600;
  it("accepts every completed call with its full answer, plus calls cut off by the end", () => {
    expect(checkSummary(summary({ done: 85025, twoXx: 85037, data: 85025 * frame + 12 * frame }), 2600)).toBe(85025);
    expect(checkSummary(summary({ done: 85025, twoXx: 85037, data: 85025 * frame + 100 }), 2600)).toBe(85025);
  });
  it("rejects a run where some calls got no answer body (a gRPC error answers 200 with no data)", () => {
    expect(() => checkSummary(summary({ done: 85025, twoXx: 85025, data: 85024 * frame }), 2600)).toThrow(/did not get the full answer/);
  });
  it("rejects more data than the answers could carry (the sizes are not what the caller expects)", () => {
    expect(() => checkSummary(summary({ done: 1000, twoXx: 1000, data: 1000 * frame + 1 }), 2600)).toThrow(/did not get the full answer/);
  });
  it("rejects failed or errored calls, and output it cannot read", () => {
    expect(() => checkSummary(summary({ done: 1000, failed: 1, twoXx: 999, data: 999 * frame }), 2600)).toThrow(/1 failed/);
    expect(() => checkSummary(summary({ done: 1000, errored: 2, twoXx: 998, data: 998 * frame }), 2600)).toThrow(/2 errored/);
    expect(() => checkSummary("connect: Connection refused", 2600)).toThrow(/unexpected h2load output/);
  });
});

describe("h2load request log", () => {
  it("gives latencies in ms, ascending, and the span from first start to last end", () => {
    const log = "1000000000\t200\t1500\n1000000100\t200\t500\n1000000200\t200\t2800\n";
    const r = latenciesFromLog(log);
    expect(r.ms).toEqual([0.5, 1.5, 2.8]);
    expect(r.count).toBe(3);
    expect(r.seconds).toBeCloseTo(0.003, 9);
  });
  it("fails on any status but 200", () => {
    expect(() => latenciesFromLog("1000000000\t200\t1500\n1000000100\t503\t500\n")).toThrow(/HTTP 503/);
  });
});
