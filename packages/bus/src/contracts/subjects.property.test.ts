/**
 * Every subject builder refuses what could break out of its token: a property test over
 * generated strings. The builders are enumerated from the `subjects` object, so one added
 * later is covered without being named here. For any input a builder either throws, or
 * returns a subject in which the input is exactly one token, free of wildcards (`*`, `>`),
 * separators (`.`) and whitespace; an input carrying any of those, or empty, always throws.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { subjects } from "./subjects.js";

type Builder = (...args: string[]) => string;

const builders = Object.entries(subjects).filter((e): e is [string, Builder] => typeof e[1] === "function");

/** Values some builder accepts: an id, a schema name. Each builder must accept one of them in every argument. */
const SAMPLES = ["a".repeat(26), "0123456789abcdefghijklmnop", "posts"];

/** The arguments a builder accepts, one sample for every position. */
function validArgs(name: string, b: Builder): string[] {
  for (const s of SAMPLES) {
    const args = Array.from({ length: Math.max(1, b.length) }, () => s);
    try {
      b(...args);
      return args;
    } catch {
      // Try the next sample.
    }
  }
  throw new Error(`subjects.${name}: none of the samples is accepted; add one it takes to SAMPLES`);
}

const HOSTILE_CHARS = ["*", ">", ".", " ", "\t", "\n", "\r", "\v", "\f", "\u00a0", "\u2028", "\u3000", "\0"];

/** A string that must never become a subject token: empty, or holding a wildcard, a dot or whitespace. */
const hostile: fc.Arbitrary<string> = fc.oneof(
  fc.constant(""),
  fc.constantFrom(...HOSTILE_CHARS),
  // A valid-looking value with one hostile character put in or swapped in somewhere.
  fc.tuple(fc.constantFrom(...SAMPLES), fc.constantFrom(...HOSTILE_CHARS), fc.nat(), fc.boolean()).map(([s, c, i, swap]) => {
    const at = i % (s.length + 1);
    return s.slice(0, at) + c + s.slice(swap ? at + 1 : at);
  }),
  // Anything at all that holds one of them.
  fc.tuple(fc.string({ unit: "binary" }), fc.constantFrom(...HOSTILE_CHARS), fc.string({ unit: "binary" })).map(([a, c, b]) => a + c + b),
);

/** Any string: printable, full Unicode, or made of the characters ids and subjects are built from. */
const anyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(..."abcz09_.*> -\t".split("")), minLength: 0, maxLength: 30 }),
  fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789".split("")), minLength: 24, maxLength: 28 }),
);

const tokens = (subject: string): string[] => subject.split(".");
const BAD_TOKEN = /[*>\s\0]|^$/u;

describe("subject builders", () => {
  it("are found on the subjects object", () => {
    // The ones there today; more are covered as they are added.
    expect(builders.map(([n]) => n)).toEqual(
      expect.arrayContaining(["channel", "team", "user", "sessionRevoked", "outboxWake", "resumeClaim", "gatewayCanary", "gatewayLoad"]),
    );
  });

  for (const [name, build] of builders) {
    describe(`subjects.${name}`, () => {
      const valid = validArgs(name, build);
      const shape = tokens(build(...valid)).length;

      it("refuses an empty value, a wildcard, a dot or whitespace in any argument", () => {
        fc.assert(
          fc.property(hostile, fc.nat(), (bad, i) => {
            const args = [...valid];
            args[i % args.length] = bad;
            expect(() => build(...args)).toThrow();
          }),
          { numRuns: 500 },
        );
      });

      it("puts whatever it accepts into exactly one clean token", () => {
        fc.assert(
          fc.property(anyString, fc.nat(), (s, i) => {
            const args = [...valid];
            args[i % args.length] = s;
            let subject: string;
            try {
              subject = build(...args);
            } catch {
              return;
            }
            const t = tokens(subject);
            expect(t).toHaveLength(shape);
            for (const tok of t) expect(tok).not.toMatch(BAD_TOKEN);
            expect(t).toContain(s);
          }),
          { numRuns: 500 },
        );
      });
    });
  }
});
