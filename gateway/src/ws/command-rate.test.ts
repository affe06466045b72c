import { describe, expect, it } from "vitest";
import { takeCommand, type CommandBucket } from "./command-rate.js";

const bucket = (): CommandBucket => ({ cmdTokens: Number.POSITIVE_INFINITY, cmdRefilledAt: 0, cmdRefused: 0 });

describe("takeCommand", () => {
  it("lets a burst through, refuses above the rate, then closes a client that keeps on", () => {
    const b = bucket();
    const r = { perSec: 10, burst: 3 };
    expect([1, 2, 3].map(() => takeCommand(b, r, 1_000))).toEqual(["ok", "ok", "ok"]);
    expect([1, 2, 3].map(() => takeCommand(b, r, 1_000))).toEqual(["refused", "refused", "refused"]);
    expect(takeCommand(b, r, 1_000)).toBe("close");
  });

  it("refills at the rate, and an accepted request ends the refusals in a row", () => {
    const b = bucket();
    const r = { perSec: 10, burst: 2 };
    takeCommand(b, r, 0);
    takeCommand(b, r, 0);
    expect(takeCommand(b, r, 0)).toBe("refused");
    expect(takeCommand(b, r, 100)).toBe("ok");
    expect(b.cmdRefused).toBe(0);
    // Never more than the burst, however long it rested.
    expect([1, 2, 3].map(() => takeCommand(b, r, 60_000))).toEqual(["ok", "ok", "refused"]);
  });

  it("has no limit at rate 0", () => {
    const b = bucket();
    for (let i = 0; i < 1_000; i++) expect(takeCommand(b, { perSec: 0, burst: 1 }, 0)).toBe("ok");
  });
});
