import { describe, expect, it } from "vitest";
import { timed, type PhaseOptions, type ScenarioContext } from "./scenario.js";

describe("timed", () => {
  it("shows a fixed-duration phase in seconds elapsed of its length, and ends it when the phase ends", async () => {
    const seen: { name: string; o: PhaseOptions; updates: number[]; ended: number }[] = [];
    const ctx: ScenarioContext = {
      scale: 1,
      quick: false,
      log: () => {},
      phase: (name, o) => {
        const p = { name, o, updates: [] as number[], ended: 0 };
        seen.push(p);
        return { update: (d) => p.updates.push(d), end: () => p.ended++ };
      },
    };
    const r = await timed(ctx, "round 1 service", 1_200, () => new Promise<string>((res) => setTimeout(() => res("done"), 1_200)));
    expect(r).toBe("done");
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ name: "round 1 service", o: { unit: "s", total: 1, deadlineMs: 1_200 }, ended: 1 });
    expect(seen[0]!.updates.length).toBeGreaterThanOrEqual(1);
    await expect(timed(ctx, "failing", 500, () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(seen[1]!.ended).toBe(1);
  });
});
