import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const TICKS_PER_S = 100;

/** User + system CPU seconds a process has used so far (from /proc/<pid>/stat). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the command name: state is field 3; utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** Resident memory of a process in bytes (from /proc/<pid>/status). */
export function processRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Pins every thread of a running process to one CPU (util-linux taskset). */
export function pinToCpu(pid: number, cpu: number): void {
  execFileSync("taskset", ["--all-tasks", "--pid", "--cpu-list", String(cpu), String(pid)], { stdio: "ignore" });
}
