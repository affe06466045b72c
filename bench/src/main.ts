/**
 * `make bench`: runs every scenario in bench/src/scenarios (or those named in BENCH_SCENARIOS,
 * comma-separated), prints each report and writes them to bench/results/<time>.json.
 *
 * QUICK=1 (`make bench QUICK=1`): a short run of the gRPC scenarios, presence-read and
 * grpc-create-post (unless BENCH_SCENARIOS names others), at BENCH_SCALE 0.2 unless set, their
 * ladders skipped: every figure that compares the two gRPC server implementations, in minutes.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Scenario, ScenarioReport } from "./scenario.js";

const here = dirname(fileURLToPath(import.meta.url));
const quick = /^(1|true|yes|on)$/i.test(process.env.QUICK ?? "");
const wanted = (process.env.BENCH_SCENARIOS || (quick ? "presence-read,grpc-create-post" : ""))
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const scale = Number(process.env.BENCH_SCALE ?? (quick ? "0.2" : "1")) || 1;

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

const results: Record<string, ScenarioReport | { error: string }> = {};
let failed = 0;
for (const s of scenarios) {
  console.log(`\n== ${s.name}: ${s.description}`);
  const started = Date.now();
  try {
    const r = await s.run({ scale, quick, log: (m) => console.log(`   ${m}`) });
    results[s.name] = r;
    for (const [k, v] of Object.entries(r.figures)) console.log(`   ${k.padEnd(36)} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
    for (const n of r.notes ?? []) console.log(`   note: ${n}`);
    if (r.target) console.log(`   target: ${r.target.text} -> ${r.target.met ? "MET" : "NOT MET"}`);
  } catch (e: unknown) {
    failed++;
    results[s.name] = { error: String(e) };
    console.error(`   FAILED: ${e instanceof Error ? e.stack : String(e)}`);
  }
  console.log(`   (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
const out = join(here, "..", "results", `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ scale, quick, results }, null, 2));
console.log(`\nreport: ${out}`);
process.exit(failed > 0 ? 1 : 0);
