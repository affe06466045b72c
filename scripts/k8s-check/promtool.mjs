// The PrometheusRules of every render through `promtool check rules` (Debian's prometheus
// package; make k8s-check installs it when missing).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

export function promtoolProblems(checked) {
  const problems = [];
  const dir = mkdtempSync(join(tmpdir(), "k8s-promtool-"));
  try {
    const seen = new Set();
    for (const c of checked) {
      for (const o of c.objects) {
        if (o.kind !== "PrometheusRule") continue;
        const text = stringify({ groups: o.spec.groups });
        if (seen.has(text)) continue;
        seen.add(text);
        const file = join(dir, `${o.metadata.name}-${seen.size}.yaml`);
        writeFileSync(file, text);
        try {
          execFileSync("promtool", ["check", "rules", file], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
        } catch (e) {
          if (e.code === "ENOENT") problems.push("promtool is missing: apt-get install prometheus (make k8s-check does when run as root)");
          else problems.push(`${c.name}: PrometheusRule/${o.metadata.name}: promtool check rules: ${String(e.stdout ?? "") + String(e.stderr ?? "")}`.trim());
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}
