import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

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

/** CPU seconds of the PostgreSQL backends serving database `name` (Linux /proc). */
export function postgresCpuSeconds(name: string): number {
  let total = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(` ${name} `)) continue;
      total += processCpuSeconds(Number(pid));
    } catch {
      // The backend exited between listing and reading: its time is simply not counted.
    }
  }
  return total;
}

/** Busy CPU seconds of the whole machine (Linux /proc/stat: all but idle and iowait). */
export function machineCpuSeconds(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.split(/\s+/).slice(1).map(Number);
  return (f.reduce((a, v) => a + v, 0) - f[3]! - f[4]!) / 100;
}
