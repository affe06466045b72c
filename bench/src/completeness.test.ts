import { describe, expect, it } from "vitest";
import { DeliveryLedger, verdict } from "./completeness.js";

const ids = ["a", "b", "c", "d"].map((c) => c.repeat(26));
/** A frame with the id at offset 3. */
const frame = (id: string) => Buffer.from(`id=${id};`, "latin1");
const deliver = (l: DeliveryLedger, conn: number, order: readonly number[]) => order.forEach((k) => l.record(conn, frame(k < 0 ? "z".repeat(26) : ids[k]!), 3));

describe("DeliveryLedger", () => {
  it("passes every event on every connection once, in order", () => {
    const l = new DeliveryLedger(ids, 2);
    deliver(l, 0, [0, 1, 2, 3]);
    deliver(l, 1, [0, 1, 2, 3]);
    const s = l.summary();
    expect(verdict(s)).toMatchObject({ complete: true, expected: 8, delivered: 8, reason: "" });
    expect(s.completedAt).toHaveLength(2);
  });

  it.each([
    ["a missing event", [0, 1, 3], { missing: 1 }],
    ["a repeated event in place of another", [0, 1, 1, 3], { missing: 1, duplicates: 1 }],
    ["two swapped", [0, 2, 1, 3], { outOfOrder: 1 }],
    ["one moved to the end", [1, 2, 3, 0], { outOfOrder: 1 }],
    ["an event not of the burst", [0, 1, 2, 3, -1], { unexpected: 1 }],
  ] as const)("fails %s, with the same count of deliveries where it can", (_, order, faults) => {
    const l = new DeliveryLedger(ids, 2);
    deliver(l, 0, [0, 1, 2, 3]);
    deliver(l, 1, order);
    const v = verdict(l.summary());
    expect(v).toMatchObject({ complete: false, missing: 0, duplicates: 0, outOfOrder: 0, unexpected: 0, ...faults });
    expect(v.reason).toMatch(/on 1 of 2 connections \(e\.g\. #1:/);
  });

  it("with `timed`, keeps when each connection first got each event (a duplicate does not move it)", () => {
    const l = new DeliveryLedger(ids, 2, true);
    const before = performance.timeOrigin + performance.now();
    deliver(l, 0, [0, 1, 2, 3]);
    deliver(l, 1, [1, 1]);
    const a = l.arrivals();
    expect(a).toHaveLength(8);
    for (const k of [0, 1, 2, 3, 5]) expect(a[k]).toBeGreaterThanOrEqual(before);
    expect([a[4], a[6], a[7]]).toEqual([0, 0, 0]);
    expect(() => new DeliveryLedger(ids, 1).arrivals()).toThrow(/not made timed/);
  });

  describe('in the agreed order (order: "agreed")', () => {
    const agreed = (orders: readonly (readonly number[])[]) => {
      const l = new DeliveryLedger(ids, orders.length, false, "agreed");
      orders.forEach((o, c) => deliver(l, c, o));
      return verdict(l.summary());
    };

    it("passes one order other than the send order, got by every connection", () => {
      expect(
        agreed([
          [1, 0, 3, 2],
          [1, 0, 3, 2],
          [1, 0, 3, 2],
        ]),
      ).toMatchObject({ complete: true, outOfOrder: 0, displaced: 4, reason: "" });
    });

    it.each([
      ["two swapped on one connection", [1, 3, 0, 2], 1],
      ["one moved to the end", [0, 3, 2, 1], 1],
    ] as const)("fails %s, judged against the order the others agree on", (_, odd, n) => {
      const v = agreed([[1, 0, 3, 2], odd, [1, 0, 3, 2]]);
      expect(v).toMatchObject({ complete: false, outOfOrder: n, missing: 0, duplicates: 0 });
      expect(v.reason).toMatch(/out of the order the other connections got on 1 of 3 connections \(e\.g\. #1:/);
    });

    it.each([
      ["a missing event", [0, 3, 2], 0],
      ["a missing event and two swapped", [3, 1, 2], 1],
    ] as const)("still fails %s, judging an incomplete connection's order too", (_, odd, n) => {
      const server = [1, 0, 3, 2] as const;
      expect(agreed([server, odd, server])).toMatchObject({ complete: false, missing: 1, outOfOrder: n });
    });
  });

  describe("with groups (channels): each connection gets its group's events only", () => {
    // Events a, b in group 0 and c, d in group 1; connections 0-2 in group 0, 3 in group 1.
    const groups = { ofEvent: [0, 0, 1, 1], ofConnection: [0, 0, 0, 1] };
    const grouped = (orders: readonly (readonly number[])[], order: "publish" | "agreed" = "publish") => {
      const l = new DeliveryLedger(ids, 4, false, order, groups);
      orders.forEach((o, c) => deliver(l, c, o));
      return verdict(l.summary());
    };
    const whole = [
      [0, 1],
      [0, 1],
      [0, 1],
      [2, 3],
    ] as const;

    it("passes every connection with its group's events, and counts only those as expected", () => {
      expect(grouped(whole)).toMatchObject({ complete: true, expected: 8, delivered: 8 });
      expect(
        grouped(
          [
            [1, 0],
            [1, 0],
            [1, 0],
            [3, 2],
          ],
          "agreed",
        ),
      ).toMatchObject({ complete: true, displaced: 4 });
    });

    it.each([
      [
        "another group's event",
        [
          [0, 1],
          [0, 1],
          [0, 1, 2],
          [2, 3],
        ],
        { unexpected: 1 },
      ],
      ["one of its group's missing", [[0, 1], [0], [0, 1], [2, 3]], { missing: 1 }],
      [
        "two swapped, in publish order",
        [
          [0, 1],
          [0, 1],
          [0, 1],
          [3, 2],
        ],
        { outOfOrder: 1 },
      ],
    ] as const)("fails %s", (_, orders, faults) => {
      expect(grouped(orders)).toMatchObject({ complete: false, missing: 0, unexpected: 0, outOfOrder: 0, ...faults });
    });

    it("in the agreed order, judges each group by its own majority", () => {
      const v = grouped(
        [
          [1, 0],
          [1, 0],
          [0, 1],
          [3, 2],
        ],
        "agreed",
      );
      expect(v).toMatchObject({ complete: false, outOfOrder: 1 });
      expect(v.reason).toMatch(/on 1 of 4 connections \(e\.g\. #2:/);
    });

    it("refuses groups that do not cover the burst and the connections", () => {
      expect(() => new DeliveryLedger(ids, 3, false, "publish", groups)).toThrow(/groups for 4 events and 4 connections/);
    });
  });

  it("refuses a burst with an id twice", () => {
    expect(() => new DeliveryLedger([ids[0]!, ids[0]!], 1)).toThrow(/twice/);
  });
});
