import { describe, expect, it } from "vitest";
import { compareToGolden, type Golden } from "./golden.js";

const golden: Golden = {
  source: ["server/public/model/channel.go"],
  request: "GET /x",
  status: 200,
  body: { id: "abc", n: 1, list: [{ a: "x" }], err: "api.x.app_error", header: null },
  exact: ["$.err"],
  optional: ["$.n"],
  anyType: ["$.header"],
};

describe("compareToGolden", () => {
  it("accepts an answer of the same shape", () => {
    expect(compareToGolden(golden, 200, { id: "zzz", list: [{ a: "y" }, { a: "z" }], err: "api.x.app_error", header: "h" })).toEqual([]);
  });

  it("reports status, type, missing, extra and exact differences", () => {
    const diffs = compareToGolden(golden, 404, { id: 1, n: 2, list: [{ a: "y", b: 1 }], err: "other", extra: true });
    expect(diffs).toEqual([
      "status: expected 200, got 404",
      "$.id: expected string, got number",
      "$.list[*].b: not in Mattermost's answer",
      '$.err: expected "api.x.app_error", got "other"',
      "$.header: missing",
      "$.extra: not in Mattermost's answer",
    ]);
  });
});
