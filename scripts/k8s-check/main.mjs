#!/usr/bin/env node
// make k8s-check (check.mjs says what it checks). --write regenerates the generated files.
//   node scripts/k8s-check/main.mjs [--write] [--promtool]
import { resolve } from "node:path";
import { checkTree, writeGenerated } from "./check.mjs";
import { promtoolProblems } from "./promtool.mjs";
import { KUBERNETES_RELEASE } from "./schemas.mjs";

const k8sDir = resolve(import.meta.dirname, "../../k8s");
if (process.argv.includes("--write")) writeGenerated(k8sDir);
const started = Date.now();
const { problems, checked } = await checkTree(k8sDir);
if (process.argv.includes("--promtool")) problems.push(...promtoolProblems(checked));
for (const c of checked) console.log(`  ${c.name}: ${c.objects.length} objects`);
if (problems.length > 0) {
  console.error(`k8s-check: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(
  `k8s-check: ${checked.length} renders valid against Kubernetes ${KUBERNETES_RELEASE} and their CRDs, policies hold (${((Date.now() - started) / 1000).toFixed(1)} s)`,
);
