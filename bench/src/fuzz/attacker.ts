/**
 * The fuzzer's own process (forked by fuzz-run.ts, pinned to one core with taskset): sends
 * units at a fixed rate, round-robin over the WebSocket, REST and HTTP/2 surfaces, hostile in
 * attack mode, valid in control mode. Driven over IPC: {mode} switches (on fresh connections),
 * {report} answers with the tally since the last report, {stop} ends it.
 */
import { h2Surface } from "./h2-fuzz.js";
import { Rng } from "./mutator.js";
import { restSurface } from "./rest-fuzz.js";
import { Tally, type Surface, type Targets } from "./surface.js";
import { wsSurface } from "./ws-fuzz.js";

export type AttackerCommand = { mode: "attack" | "control" | "idle" } | { report: true } | { stop: true };
export interface AttackerReport {
  readonly counts: Record<string, number>;
  readonly samples: string[];
  readonly units: number;
}

const targets = JSON.parse(process.env.SB_FUZZ_TARGETS ?? "{}") as Targets;
const rate = Number(process.env.SB_FUZZ_RATE ?? "150");
const rng = new Rng(Number(process.env.SB_FUZZ_SEED ?? "1"));

let tally = new Tally();
let units = 0;
let mode: "attack" | "control" | "idle" = "idle";
const make = (t: Tally): Surface[] => [wsSurface(targets, t), restSurface(targets, t), h2Surface(targets, t)];
let surfaces = make(tally);
let turn = 0;
let owed = 0;
let last = performance.now();

const timer = setInterval(() => {
  const now = performance.now();
  if (mode !== "idle") owed += ((now - last) * rate) / 1000;
  last = now;
  // A stalled tick does not turn into a burst: at most 50 ms of units at once.
  owed = Math.min(owed, rate / 20);
  while (owed >= 1) {
    owed--;
    units++;
    try {
      surfaces[turn++ % surfaces.length]!.send(rng, mode === "attack");
    } catch (e: unknown) {
      tally.count("fuzzer.send_error");
      tally.sample(`fuzzer: ${String(e)}`);
    }
  }
}, 5);

process.on("message", (m: AttackerCommand) => {
  if ("mode" in m) {
    mode = m.mode;
    // Each phase starts on fresh connections, so no state carries over from the last.
    for (const s of surfaces) s.close();
    surfaces = make(tally);
  } else if ("report" in m) {
    const r: AttackerReport = { counts: tally.counts, samples: tally.samples, units };
    process.send!(r);
    tally = new Tally();
    units = 0;
  } else {
    clearInterval(timer);
    for (const s of surfaces) s.close();
    process.disconnect();
  }
});
