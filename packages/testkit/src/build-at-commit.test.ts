import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveCommit } from "./build-at-commit.js";
import { repoRoot } from "./deployables.js";

describe("resolveCommit", () => {
  it("gives the full hash of a reference in this repository's history", () => {
    expect(resolveCommit("HEAD")).toMatch(/^[0-9a-f]{40}$/);
  });

  it("says a reference is not in the history", () => {
    expect(() => resolveCommit("no-such-ref-of-switchboard")).toThrow(/not in this repository's history/);
  });

  it("says so when a shallow clone lacks the commit, instead of building something else", () => {
    const base = join(repoRoot(), ".tmp");
    mkdirSync(base, { recursive: true });
    const dir = join(base, `shallow-${randomBytes(4).toString("hex")}`);
    try {
      const c = spawnSync("git", ["clone", "--quiet", "--depth", "1", `file://${repoRoot()}`, dir], { encoding: "utf8" });
      expect(c.status, c.stderr).toBe(0);
      expect(() => resolveCommit("HEAD~1", dir)).toThrow(/shallow clone: fetch the history/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
