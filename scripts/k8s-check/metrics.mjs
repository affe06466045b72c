// Every metric a PrometheusRule or a dashboard panel names must exist in the code's
// registries: the names registered under packages/, gateway/src and services/*/src
// (registry.counter/gauge/histogram({ name })), and the process and Node.js metrics that
// @switchboard/metrics collects by default.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createMetricsRegistry } from "@switchboard/metrics";

const REGISTRATION = /\.(counter|gauge|histogram)\(\{\s*name:\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"/g;
const HISTOGRAM_SERIES = ["_bucket", "_sum", "_count"];

function sources(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== "node_modules" && e.name !== "dist") sources(p, out);
    else if (e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

const series = (name, type) => (type === "histogram" ? [name, ...HISTOGRAM_SERIES.map((s) => name + s)] : [name]);

/** The series names the code can expose. */
export async function codeMetricNames(repo) {
  const names = new Set();
  const dirs = [join(repo, "gateway/src")];
  for (const parent of ["packages", "services"]) {
    for (const d of readdirSync(join(repo, parent), { withFileTypes: true })) if (d.isDirectory()) dirs.push(join(repo, parent, d.name, "src"));
  }
  for (const f of dirs.flatMap((d) => sources(d))) {
    for (const m of readFileSync(f, "utf8").matchAll(REGISTRATION)) for (const s of series(m[2], m[1])) names.add(s);
  }
  const defaults = await createMetricsRegistry().render();
  for (const m of defaults.matchAll(/^# TYPE (\S+) (\S+)$/gm)) for (const s of series(m[1], m[2])) names.add(s);
  return names;
}

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"]);

/** The metric names a PromQL expression reads. */
export function promqlMetricNames(expr) {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set();
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1].toLowerCase()) || /^\d/.test(m[1])) continue;
    names.add(m[1]);
  }
  return names;
}

/** Where a rendered overlay names metrics: rule expressions, recorded names, dashboard panels. */
function referencedMetrics(objects) {
  const refs = [];
  const recorded = new Set();
  for (const o of objects) {
    if (o.kind === "PrometheusRule") {
      for (const g of o.spec.groups ?? []) {
        for (const r of g.rules ?? []) {
          if (r.record) recorded.add(r.record);
          refs.push({ where: `PrometheusRule/${o.metadata.name} ${r.alert ?? r.record}`, expr: String(r.expr) });
        }
      }
    }
    if (o.kind === "ConfigMap" && o.metadata.labels?.grafana_dashboard) {
      for (const [file, text] of Object.entries(o.data ?? {})) {
        const walk = (p) => {
          for (const panel of p.panels ?? []) {
            for (const t of panel.targets ?? []) if (t.expr) refs.push({ where: `dashboard ${file} panel "${panel.title}"`, expr: t.expr });
            walk(panel);
          }
        };
        walk(JSON.parse(text));
      }
    }
  }
  return { refs, recorded };
}

/** Problems: metrics named by rules or panels that no registry has. */
export function metricProblems(objects, known) {
  const { refs, recorded } = referencedMetrics(objects);
  const problems = [];
  for (const r of refs) {
    for (const name of promqlMetricNames(r.expr)) {
      if (!known.has(name) && !recorded.has(name)) problems.push(`${r.where}: metric ${name} is in no registry of the code`);
    }
  }
  return problems;
}
