/** What a run ran on: the commit, Node, nats-server, the kernel and the CPU. */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus, release, totalmem, version } from "node:os";

export interface RunInfo {
  /** The commit (12 hex digits), "+dirty" when the tree had changes, "unknown" outside git. */
  readonly commit: string;
  readonly node: string;
  readonly natsServer: string;
  readonly kernel: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryGiB: number;
  readonly startedAt: string;
  readonly scale: number;
  readonly quick: boolean;
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch {
    return "";
  }
}

function commit(): string {
  const head = run("git", ["rev-parse", "--short=12", "HEAD"]);
  if (!head) return "unknown";
  return run("git", ["status", "--porcelain", "--untracked-files=no"]) ? `${head}+dirty` : head;
}

function natsServerVersion(): string {
  const bin = existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";
  // "nats-server: v2.9.10"
  return run(bin, ["--version"]).replace(/^nats-server:\s*/, "") || "not found";
}

export function runInfo(o: { scale: number; quick: boolean; startedAt?: Date }): RunInfo {
  const c = cpus();
  return {
    commit: commit(),
    node: process.version,
    natsServer: natsServerVersion(),
    kernel: `${release()} (${version()})`,
    cpuModel: c[0]?.model ?? "unknown",
    cpus: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    startedAt: (o.startedAt ?? new Date()).toISOString(),
    scale: o.scale,
    quick: o.quick,
  };
}
