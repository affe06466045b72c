import { describe, expect, it } from "vitest";
import type { HttpLoadResult } from "../http-load/http-load.js";
import { checkHttpPhase } from "./rest-posts.js";

const phase = (o: Partial<HttpLoadResult>): HttpLoadResult => ({
  requests: 100,
  ok: 100,
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  seconds: 1,
  statuses: { "201": 100 },
  latencyMs: { mean: 1, max: 2, percentiles: [] },
  ...o,
});

describe("rest-posts' check of a gateway phase", () => {
  it("passes every answer 2xx, with up to one post per connection (16) stored unanswered at the end", () => {
    expect(checkHttpPhase(phase({}))).toBeUndefined();
    expect(checkHttpPhase(phase({}), 100)).toBeUndefined();
    expect(checkHttpPhase(phase({}), 116)).toBeUndefined();
  });

  it.each([
    ["a non-2xx answer", phase({ ok: 99, non2xx: 1, statuses: { "201": 99, "403": 1 } }), undefined, /1 non-2xx answers \(\{"201":99,"403":1\}\)/],
    ["a connection error", phase({ errors: 2, timeouts: 1 }), undefined, /2 connection errors \(1 timeouts\)/],
    ["no answer at all", phase({ requests: 0, ok: 0, statuses: {} }), undefined, /no 2xx answer/],
    ["a 201 whose post was not stored", phase({}), 99, /100 posts answered 201 but 99 stored/],
    ["more posts stored than requests could be in flight", phase({}), 117, /100 posts answered 201 but 117 stored/],
  ] as const)("fails %s", (_, r, stored, reason) => {
    expect(checkHttpPhase(r, stored)).toMatch(reason);
  });
});
