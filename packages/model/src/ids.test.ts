import { describe, expect, it } from "vitest";
import { isValidId, newId } from "./ids.js";

describe("ids", () => {
  it("makes 26-character Mattermost ids", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = newId();
      expect(id).toMatch(/^[ybndrfg8ejkmcpqxot1uwisza345h769]{26}$/);
      expect(isValidId(id)).toBe(true);
      seen.add(id);
    }
    expect(seen.size).toBe(1000);
    for (const edge of ["0".repeat(26), "9".repeat(26), "a".repeat(26), "z".repeat(26)]) expect(isValidId(edge)).toBe(true);
  });

  it("rejects anything that could reach a subject or query unsafely", () => {
    for (const bad of [
      "",
      "a".repeat(25),
      "a".repeat(27),
      "*".repeat(26),
      "a".repeat(25) + ">",
      "a".repeat(25) + ".",
      "A".repeat(26),
      "a".repeat(25) + " ",
      ...["`", "{", "/", ":", "é", "\u0000"].map((c) => "a".repeat(25) + c),
      42,
      null,
      undefined,
      ["a".repeat(26)],
    ]) {
      expect(isValidId(bad)).toBe(false);
    }
  });
});
