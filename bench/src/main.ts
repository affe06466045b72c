/**
 * `make bench`: runs every scenario in bench/src/scenarios (or those named in BENCH_SCENARIOS,
 * comma-separated), with a progress line per scenario and phase, and writes the run's folder
 * bench/results/<time>-<commit>/ (results.json, summary.md, report.html; results/run-folder.ts).
 * The summary is printed too. BENCH_KEEP_REPORT=1 (`make bench-report`) copies the folder into
 * bench/reports/, which is committed.
 *
 * QUICK=1 (`make bench QUICK=1`): a short run of every scenario but resume-storm (unless
 * BENCH_SCENARIOS names others), at BENCH_SCALE 0.2 unless set, their ladders skipped, in
 * minutes: the gRPC scenarios (presence-read, grpc-create-post), fanout-latency, fanout-burst
 * with its ws and Socket.IO peers, idle-memory, connect-storm, rest-posts and slow-consumer.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createProgress } from "./progress.js";
import { runInfo } from "./results/run-info.js";
import { keepRunFolder, writeRunFolder } from "./results/run-folder.js";
import type { ScenarioOutcome } from "./results/run-results.js";
import type { Scenario } from "./scenario.js";

const here = dirname(fileURLToPath(import.meta.url));
const yes = (v: string | undefined) => /^(1|true|yes|on)$/i.test(v ?? "");
const quick = yes(process.env.QUICK);
const wanted = (
  process.env.BENCH_SCENARIOS || (quick ? "presence-read,grpc-create-post,fanout-latency,fanout-burst,idle-memory,connect-storm,rest-posts,slow-consumer" : "")
)
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const scale = Number(process.env.BENCH_SCALE ?? (quick ? "0.2" : "1")) || 1;
const info = runInfo({ scale, quick });

const scenarios: Scenario[] = [];
for (const f of readdirSync(join(here, "scenarios"))
  .filter((f) => f.endsWith(".js"))
  .sort()) {
  const mod = (await import(pathToFileURL(join(here, "scenarios", f)).href)) as { scenario?: Scenario };
  if (mod.scenario && (wanted.length === 0 || wanted.includes(mod.scenario.name))) scenarios.push(mod.scenario);
}
if (scenarios.length === 0) {
  console.error(`no scenarios match ${wanted.join(",") || "(all)"}`);
  process.exit(1);
}

const progress = createProgress({ out: process.stdout });
console.log(
  `commit ${info.commit}, Node ${info.node}, nats-server ${info.natsServer}, ${info.cpuModel} × ${String(info.cpus)}, scale ${String(scale)}${quick ? " (QUICK)" : ""}`,
);
console.log(`scenarios: ${scenarios.map((s) => s.name).join(", ")}`);

const results: Record<string, ScenarioOutcome> = {};
let failed = 0;
for (const s of scenarios) {
  progress.log(`\n== ${s.name}: ${s.description}`);
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  try {
    const r = await s.run({ scale, quick, log: (m) => progress.log(`   ${m}`), phase: (name, o) => progress.phase(s.name, name, o) });
    results[s.name] = { ...r, seconds: seconds() };
    for (const [k, v] of Object.entries(r.figures)) progress.log(`   ${k.padEnd(36)} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
    for (const row of r.rows ?? []) if (row.failed) progress.log(`   FAILED ${row.label} ${row.subject}: ${row.failed}`);
    for (const n of r.notes ?? []) progress.log(`   note: ${n}`);
    if (r.target) progress.log(`   target: ${r.target.text} -> ${r.target.met ? "MET" : "NOT MET"}`);
    if ((r.rows ?? []).some((row) => row.failed)) failed++;
  } catch (e: unknown) {
    failed++;
    results[s.name] = { error: String(e), seconds: seconds() };
    console.error(`   FAILED: ${e instanceof Error ? e.stack : String(e)}`);
  }
  progress.log(`   (${seconds().toFixed(1)} s)`);
}
const { dir, summary } = writeRunFolder({ info, scenarios: results }, join(here, "..", "results"));
console.log(`\n${summary}`);
console.log(`results: ${dir} (results.json, summary.md, report.html)`);
if (yes(process.env.BENCH_KEEP_REPORT)) console.log(`kept: ${keepRunFolder(dir, join(here, "..", "reports"))}`);
process.exit(failed > 0 ? 1 : 0);
