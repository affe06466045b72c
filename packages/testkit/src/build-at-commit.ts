/**
 * An older build of Switchboard, for tests that run it beside the current one (a rolling
 * upgrade): the tree of a git commit unpacked under the repository's git-ignored .tmp/builds/,
 * its dependencies installed (npm ci) and compiled (tsc -b), kept by commit hash so the next run
 * reuses it. Its deployables run from that root (deployableEntry's root).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./deployables.js";

export interface CommitBuild {
  /** The full hash the reference resolved to. */
  readonly commit: string;
  /** The root of the built tree (give it to deployableEntry / spawnDeployable). */
  readonly root: string;
  /** Whether an earlier run's build was reused. */
  readonly cached: boolean;
  /** How long this call took. */
  readonly ms: number;
}

/**
 * The commit a rolling upgrade starts from: SB_UPGRADE_FROM, or the first whose gateways call
 * the services over mTLS with a certificate of their own (older gateways speak plaintext gRPC,
 * which the services no longer serve), and so resume each other too.
 */
export function upgradeBaseCommit(): string {
  return process.env.SB_UPGRADE_FROM || "be592b1";
}

function run(cmd: string, args: readonly string[], cwd: string, what: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: process.env });
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} failed (exit ${String(r.status ?? r.signal)}): ${(r.stderr || r.stdout).slice(-2000)}`);
  return r.stdout;
}

/**
 * The full hash of `ref` in the repository at `root` (this one by default), or a clear error
 * when the history does not have it (a shallow clone).
 */
export function resolveCommit(ref: string, root: string = repoRoot()): string {
  const r = spawnSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { cwd: root, encoding: "utf8" });
  if (r.status === 0) return r.stdout.trim();
  const shallow = spawnSync("git", ["rev-parse", "--is-shallow-repository"], { cwd: root, encoding: "utf8" });
  if (shallow.error || shallow.status !== 0)
    throw new Error(`commit ${ref} cannot be built: ${root} is not a git checkout with its history (git: ${shallow.stderr || shallow.error?.message})`);
  if (shallow.stdout.trim() === "true")
    throw new Error(`commit ${ref} is not in this shallow clone: fetch the history (git fetch --unshallow) to build an older Switchboard`);
  throw new Error(`commit ${ref} is not in this repository's history`);
}

/** Builds `ref` (a commit, tag or branch) under .tmp/builds/<hash>, or reuses that build. */
export function buildAtCommit(ref: string): CommitBuild {
  const started = Date.now();
  const commit = resolveCommit(ref);
  const base = join(repoRoot(), ".tmp", "builds");
  const root = join(base, commit);
  // The marker is written last: a build that died half-way is never taken for a finished one.
  if (existsSync(join(root, ".built"))) return { commit, root, cached: true, ms: Date.now() - started };
  mkdirSync(base, { recursive: true });
  const work = `${root}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  try {
    // git archive, not a worktree: nothing is registered in the repository.
    const tar = join(base, `${commit}-${process.pid}.tar`);
    run("git", ["archive", "--format=tar", "-o", tar, commit], repoRoot(), `git archive ${commit}`);
    run("tar", ["-xf", tar, "-C", work], base, "unpacking the archive");
    rmSync(tar, { force: true });
    run("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], work, `npm ci at ${commit}`);
    run("npx", ["tsc", "-b"], work, `tsc -b at ${commit}`);
    writeFileSync(join(work, ".built"), `${commit}\n`);
    rmSync(root, { recursive: true, force: true });
    renameSync(work, root);
  } catch (e: unknown) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
  return { commit, root, cached: false, ms: Date.now() - started };
}
