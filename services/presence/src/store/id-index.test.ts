import { describe, expect, it } from "vitest";
import { newId } from "@switchboard/model";
import { IdIndex, packIds } from "./id-index.js";

const bytesOf = (id: string): Buffer => Buffer.from(id, "latin1");

describe("IdIndex", () => {
  it("agrees with a Map through growth, overwrites and deletions", () => {
    const index = new IdIndex<{ v: number }>();
    const model = new Map<string, { v: number }>();
    // Ids sharing long prefixes as well as random ones: probe runs must stay correct.
    const ids = [...Array.from({ length: 3_000 }, () => newId()), ...Array.from({ length: 3_000 }, (_, i) => "a".repeat(20) + String(i).padStart(6, "0"))];
    let seed = 11;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let step = 0; step < 40_000; step++) {
      const id = ids[rnd(ids.length)]!;
      if (rnd(3) === 0) {
        index.delete(id);
        model.delete(id);
      } else {
        const v = { v: step };
        index.set(id, v);
        model.set(id, v);
      }
      if (step % 4_000 === 0 || step === 39_999) {
        expect(index.size).toBe(model.size);
        for (const x of ids) expect(index.get(bytesOf(x), 0)).toBe(model.get(x));
      }
    }
  });

  it("finds an id at any offset of a larger buffer, and nothing for unknown ids", () => {
    const index = new IdIndex<{ n: number }>();
    const id = newId();
    const v = { n: 1 };
    index.set(id, v);
    expect(index.get(Buffer.concat([Buffer.from("xyz"), bytesOf(id)]), 3)).toBe(v);
    expect(index.get(bytesOf(newId()), 0)).toBeUndefined();
    index.delete(newId()); // absent: nothing happens
    expect(index.size).toBe(1);
  });

  it("refuses keys that are not 26 one-byte characters", () => {
    const index = new IdIndex<object>();
    expect(() => index.set("short", {})).toThrow(RangeError);
    expect(() => index.set("a".repeat(27), {})).toThrow(RangeError);
  });

  it("packs string ids back to back", () => {
    const ids = [newId(), newId()];
    const p = packIds(ids);
    expect(p.count).toBe(2);
    expect(p.bytes.toString("latin1", p.first, p.first + 52)).toBe(ids.join(""));
  });
});
