import { describe, expect, it } from "vitest";
import { DeadlineQueue } from "./deadline-queue.js";

describe("DeadlineQueue", () => {
  it("pops due keys in deadline order, once each", () => {
    const q = new DeadlineQueue();
    q.schedule("c", 30);
    q.schedule("a", 10);
    q.schedule("b", 20);
    expect(q.popDue(5)).toEqual([]);
    expect(q.popDue(20)).toEqual(["a", "b"]);
    expect(q.popDue(100)).toEqual(["c"]);
    expect(q.popDue(100)).toEqual([]);
  });

  it("keeps only the latest deadline of a key, earlier or later", () => {
    const q = new DeadlineQueue();
    q.schedule("a", 10);
    q.schedule("a", 50);
    expect(q.popDue(20)).toEqual([]);
    q.schedule("b", 40);
    q.schedule("b", 5);
    expect(q.popDue(20)).toEqual(["b"]);
    expect(q.popDue(50)).toEqual(["a"]);
    q.schedule("x", 10);
    q.schedule("x", 0);
    expect(q.popDue(100)).toEqual([]);
    expect(q.size).toBe(0);
  });

  it("stays bounded when keys are rescheduled many times", () => {
    const q = new DeadlineQueue();
    for (let i = 1; i <= 100_000; i++) q.schedule(`k${i % 10}`, i);
    expect(q.size).toBe(10);
    expect((q as unknown as { heap: unknown[] }).heap.length).toBeLessThan(5_000);
    expect(q.popDue(1_000_000)).toHaveLength(10);
  });

  it("honours the maximum per pop", () => {
    const q = new DeadlineQueue();
    for (let i = 0; i < 10; i++) q.schedule(`k${i}`, i + 1);
    expect(q.popDue(100, 4)).toEqual(["k0", "k1", "k2", "k3"]);
    expect(q.popDue(100)).toHaveLength(6);
  });
});
