import { describe, expect, it } from "vitest";
import { StreamTable } from "./stream-table.js";

describe("StreamTable", () => {
  it("agrees with a Map through growth and deletions in any order", () => {
    const table = new StreamTable<{ id: number }>();
    const model = new Map<number, { id: number }>();
    let seed = 3;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    let next = 1;
    for (let step = 0; step < 50_000; step++) {
      // Mostly new odd ids, as a client opens streams; closes in random order; sometimes a burst.
      if (model.size < 4_000 && (rnd(2) === 0 || model.size === 0)) {
        const item = { id: next };
        next += 2 * (1 + rnd(3));
        table.add(item);
        model.set(item.id, item);
      } else {
        const ids = [...model.keys()];
        const id = ids[rnd(ids.length)]!;
        table.delete(id);
        model.delete(id);
      }
      if (step % 5_000 === 0 || step === 49_999) {
        expect(table.size).toBe(model.size);
        for (const [id, item] of model) expect(table.get(id)).toBe(item);
        expect(table.get(next)).toBeUndefined();
        expect(new Set(table.values())).toEqual(new Set(model.values()));
      }
    }
  });

  it("lets go of a deleted item, of outgrown arrays' contents, and of everything on clear", () => {
    const table = new StreamTable<{ id: number }>();
    const itemsOf = () => (table as unknown as { items: ({ id: number } | undefined)[] }).items;
    table.add({ id: 1 });
    const first = itemsOf();
    for (let id = 3; id < 200; id += 2) table.add({ id });
    expect(itemsOf()).not.toBe(first); // grown
    expect(first.every((x) => x === undefined)).toBe(true);
    table.delete(7);
    table.delete(7); // absent: nothing happens
    expect(table.get(7)).toBeUndefined();
    expect(table.size).toBe(99);
    // The slots themselves are emptied: nothing left in the arrays points at a deleted item.
    const items = itemsOf();
    expect(items.filter((x) => x !== undefined)).toHaveLength(99);
    expect(items.some((x) => x?.id === 7)).toBe(false);
    table.clear();
    expect(table.size).toBe(0);
    expect(items.every((x) => x === undefined)).toBe(true);
    expect(table.values()).toEqual([]);
  });
});
