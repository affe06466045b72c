/**
 * `make bench`: runs every scenario in bench/src/scenarios (or those named in BENCH_SCENARIOS,
 * comma-separated), prints each report and writes them to bench/results/<time>.json.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Scenario, ScenarioReport } from "./scenario.js";

const here = dirname(fileURLToPath(import.meta.url));
const wanted = (process.env.BENCH_SCENARIOS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
const scale = Number(process.env.BENCH_SCALE ?? "1") || 1;

const scenarios: Scenario[] = [];
for (const f of readdirSync(join(here, "scenarios")).filter((f) => f.endsWith(".js")).sort()) {
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
    const r = await s.run({ scale, log: (m) => console.log(`   ${m}`) });
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
writeFileSync(out, JSON.stringify({ scale, results }, null, 2));
console.log(`\nreport: ${out}`);
process.exit(failed > 0 ? 1 : 0);
