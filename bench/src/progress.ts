/**
 * Progress while a benchmark runs: a line per scenario and phase with what it has counted
 * (connections opened, deliveries counted) of what it expects, and the time left. On a
 * terminal the line redraws in place with a bar; otherwise (CI, a pipe, a file) it is plain
 * lines, at most one per interval per phase, and one when the phase ends.
 */
import type { Phase, PhaseOptions } from "./scenario.js";

interface Out {
  write(s: string): unknown;
  readonly isTTY?: boolean;
}

export interface ProgressOptions {
  readonly out: Out;
  /** Defaults to out.isTTY. */
  readonly tty?: boolean;
  /** Plain lines: at most one per phase per this many ms (5,000). */
  readonly plainIntervalMs?: number;
  readonly now?: () => number;
}

export interface Progress {
  phase(scenario: string, name: string, o: PhaseOptions): Phase;
  /** A line of text, below the progress line on a terminal. */
  log(line: string): void;
}

const BAR = 24;

function seconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${String(Math.floor(s / 60))} min ${String(s % 60)} s` : `${String(s)} s`;
}

/** The time left at the rate so far, never above what the deadline leaves; undefined before any progress. */
export function timeLeftMs(done: number, total: number, elapsedMs: number, deadlineMs?: number): number | undefined {
  const cap = deadlineMs === undefined ? Infinity : Math.max(0, deadlineMs - elapsedMs);
  if (done >= total) return 0;
  if (done <= 0 || elapsedMs <= 0) return cap === Infinity ? undefined : cap;
  return Math.min(cap, ((total - done) * elapsedMs) / done);
}

export function createProgress(o: ProgressOptions): Progress {
  const tty = o.tty ?? o.out.isTTY === true;
  const interval = o.plainIntervalMs ?? 5_000;
  const now = o.now ?? (() => performance.now());
  /** On a terminal: the progress line is drawn and must be cleared before other text. */
  let drawn = false;
  let lastDraw = 0;

  const text = (scenario: string, name: string, opts: PhaseOptions, done: number, started: number, withBar: boolean): string => {
    const left = timeLeftMs(done, opts.total, now() - started, opts.deadlineMs);
    const frac = opts.total > 0 ? Math.min(1, done / opts.total) : 1;
    const bar = withBar ? `[${"#".repeat(Math.round(frac * BAR)).padEnd(BAR, ".")}] ` : "";
    const count = `${done.toLocaleString("en-US")}/${opts.total.toLocaleString("en-US")} ${opts.unit}`;
    return `${scenario} · ${name}: ${bar}${count}, ${left === undefined ? "time left unknown" : `${seconds(left)} left`}`;
  };
  const clear = () => {
    if (drawn) o.out.write("\r\x1b[K");
    drawn = false;
  };

  return {
    log(line) {
      clear();
      o.out.write(`${line}\n`);
    },
    phase(scenario, name, opts) {
      const started = now();
      let lastPlain = -Infinity;
      let ended = false;
      const show = (done: number, force: boolean) => {
        const t = now();
        if (tty) {
          if (!force && t - lastDraw < 100) return;
          lastDraw = t;
          o.out.write(`\r\x1b[K${text(scenario, name, opts, done, started, true)}`);
          drawn = true;
        } else {
          if (!force && t - lastPlain < interval) return;
          lastPlain = t;
          o.out.write(`${text(scenario, name, opts, done, started, false)}\n`);
        }
      };
      show(0, true);
      return {
        update(done) {
          if (!ended) show(done, false);
        },
        end(done = opts.total) {
          if (ended) return;
          ended = true;
          show(done, true);
          if (tty) {
            o.out.write(` (${seconds(now() - started)})\n`);
            drawn = false;
          }
        },
      };
    },
  };
}
