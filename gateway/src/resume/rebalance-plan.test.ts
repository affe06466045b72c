import { describe, expect, it } from "vitest";
import { initialRebalanceState, planRebalance, REBALANCE_JITTER, type RebalanceSettings, type RebalanceState } from "./rebalance-plan.js";

const S: RebalanceSettings = { thresholdPercent: 120, fractionPercent: 60, sustainMs: 10_000, cooldownMs: 20_000 };
const MID = 0.5; // no jitter

/** Decides at `at` after an overload that began at 1 and a round long ago. */
const sustained = (own: number, others: number[], random = MID, s = S) =>
  planRebalance(own, others, s, { overSince: 1, lastRoundAt: 0 }, 1 + s.sustainMs, random);

describe("planRebalance", () => {
  it("sheds the settled fraction of the excess over the mean once the overload was sustained", () => {
    // 2 → 4 gateways: mean 500, excess 500, 60 % of it.
    const d = sustained(1_000, [1_000, 0, 0]);
    expect(d.mean).toBe(500);
    expect(d.close).toBe(300);
    expect(d.state).toEqual({ overSince: 0, lastRoundAt: 1 + S.sustainMs });
  });

  it("never sheds anyone alone, at or under the threshold, or for less than one socket of excess", () => {
    expect(sustained(1_000, []).close).toBe(0);
    // 600 of a mean of 500 is exactly 120 %.
    expect(sustained(600, [400, 500]).close).toBe(0);
    expect(sustained(601, [400, 500]).close).toBeGreaterThan(0);
    // 2 of a mean of 1.5 is above 120 %, but the excess is half a socket.
    expect(sustained(2, [1]).close).toBe(0);
    expect(sustained(0, [0, 0]).close).toBe(0);
  });

  it("waits until the overload has lasted sustainMs, and forgets an overload that ended", () => {
    let st: RebalanceState = initialRebalanceState;
    let d = planRebalance(1_000, [0], S, st, 100, MID);
    expect(d.close).toBe(0);
    expect(d.state.overSince).toBe(100);
    st = d.state;
    d = planRebalance(1_000, [0], S, st, 100 + S.sustainMs - 1, MID);
    expect(d.close).toBe(0);
    // Balanced for one look: the clock starts again.
    d = planRebalance(500, [500], S, d.state, 100 + S.sustainMs - 1, MID);
    expect(d.state.overSince).toBe(0);
    d = planRebalance(1_000, [0], S, d.state, 100 + S.sustainMs, MID);
    expect(d.close).toBe(0);
    d = planRebalance(1_000, [0], S, d.state, 100 + 2 * S.sustainMs, MID);
    expect(d.close).toBe(300);
  });

  it("waits cooldownMs after a round before the next", () => {
    const st = { overSince: 1, lastRoundAt: 5_000 };
    expect(planRebalance(1_000, [0], S, st, 5_000 + S.cooldownMs - 1, MID).close).toBe(0);
    expect(planRebalance(1_000, [0], S, st, 5_000 + S.cooldownMs, MID).close).toBe(300);
  });

  it("jitters the fraction by at most a quarter either way, and never sheds below the mean", () => {
    const low = sustained(1_000, [1_000, 0, 0], 0).close;
    const high = sustained(1_000, [1_000, 0, 0], 0.999999).close;
    expect(low).toBe(Math.round(500 * 0.6 * (1 - REBALANCE_JITTER)));
    expect(high).toBe(Math.round(500 * 0.6 * (1 + REBALANCE_JITTER)));
    expect(low).toBeLessThan(high);
    // The whole excess at most, however large the fraction and the jitter.
    const all = sustained(1_000, [1_000, 0, 0], 0.999999, { ...S, fractionPercent: 100 });
    expect(all.close).toBe(500);
    expect(1_000 - all.close).toBeGreaterThanOrEqual(all.mean);
  });

  it("converges from 2 to 4 gateways under 1.3 × the mean in two rounds when moved clients land on the emptiest", () => {
    const fleet = [1_000, 1_000, 0, 0];
    for (let round = 0; round < 2; round++) {
      const moved = fleet.map(
        (n, i) =>
          sustained(
            n,
            fleet.filter((_, k) => k !== i),
          ).close,
      );
      for (let i = 0; i < fleet.length; i++) fleet[i]! -= moved[i]!;
      // The balancer's leastconn: each client goes to the gateway holding the fewest.
      for (let m = moved.reduce((a, b) => a + b, 0); m > 0; m--) fleet[fleet.indexOf(Math.min(...fleet))]! += 1;
    }
    expect(Math.max(...fleet) / 500).toBeLessThanOrEqual(1.3);
    expect(fleet.reduce((a, b) => a + b, 0)).toBe(2_000);
  });
});
