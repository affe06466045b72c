import { describe, expect, it } from "vitest";
import { mutateBytes, mutateJson, randomJson, Rng } from "./mutator.js";

describe("the fuzzer's mutator", () => {
  it("is reproducible from its seed", () => {
    const run = (seed: number) => {
      const r = new Rng(seed);
      return [
        mutateBytes(r, Buffer.from('{"seq":1,"action":"ping","data":{}}')).toString("hex"),
        JSON.stringify(randomJson(r)),
        JSON.stringify(mutateJson(r, { a: 1, b: { c: "x" } })),
      ];
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it("changes its input and keeps within the size bound", () => {
    const r = new Rng(7);
    const input = Buffer.from("x".repeat(1000));
    let changed = 0;
    for (let i = 0; i < 500; i++) {
      const out = mutateBytes(r, input, 4096);
      expect(out.length).toBeLessThanOrEqual(4096);
      if (!out.equals(input)) changed++;
    }
    expect(changed).toBeGreaterThan(450);
  });
});
