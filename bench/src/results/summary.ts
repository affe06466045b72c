/** The Markdown summary of a run (summary.md, also printed): the run's context, each target, each scenario's figures and rows. */
import type { ResultRow } from "../scenario.js";
import { capacityReport } from "./capacity-model.js";
import { isError, type RunResults } from "./run-results.js";

/** A figure as people read it: integers grouped, others to three significant digits. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  return String(Number(v.toPrecision(3)));
}

const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${head.map(cell).join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

/** The value columns of a set of rows: every key some row has, in first-seen order. */
export function rowColumns(rows: readonly ResultRow[]): string[] {
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r.values)) if (!keys.includes(k)) keys.push(k);
  return keys;
}

/** A scenario's verdict in one phrase: MET, NOT MET, FAILED (a row failed) or the error. */
export function outcomeText(o: RunResults["scenarios"][string]): string {
  if (isError(o)) return `ERROR: ${o.error}`;
  const failed = (o.rows ?? []).filter((r) => r.failed).length;
  if (failed > 0) return `FAILED: ${String(failed)} row(s) incomplete`;
  return o.target ? (o.target.met ? "MET" : "NOT MET") : "no target";
}

export function renderSummary(r: RunResults): string {
  const i = r.info;
  const out: string[] = [
    `# Benchmark run ${i.startedAt}`,
    "",
    `Commit \`${i.commit}\` · Node ${i.node} · nats-server ${i.natsServer} · kernel ${i.kernel} · ${i.cpuModel} × ${String(i.cpus)} · ${String(i.memoryGiB)} GiB · scale ${String(i.scale)}${i.quick ? " (QUICK)" : ""}`,
    "",
    table(
      ["scenario", "target", "outcome", "time"],
      Object.entries(r.scenarios).map(([name, o]) => [name, isError(o) ? "" : (o.target?.text ?? ""), outcomeText(o), `${o.seconds.toFixed(0)} s`]),
    ),
  ];
  for (const [name, o] of Object.entries(r.scenarios)) {
    out.push("", `## ${name}`, "");
    if (isError(o)) {
      out.push(`Error: ${o.error}`);
      continue;
    }
    if (o.target) out.push(`Target: ${o.target.text} → **${outcomeText(o)}**`, "");
    const figures = Object.entries(o.figures);
    if (figures.length > 0)
      out.push(
        table(
          ["figure", "value"],
          figures.map(([k, v]) => [k, formatNumber(v)]),
        ),
        "",
      );
    const rows = o.rows ?? [];
    if (rows.length > 0) {
      const cols = rowColumns(rows);
      out.push(
        table(
          ["phase", "subject", "status", ...cols],
          rows.map((row) => [
            row.label,
            row.subject,
            row.failed ? `FAILED: ${row.failed}` : "ok",
            ...cols.map((k) => (k in row.values ? formatNumber(row.values[k]!) : "")),
          ]),
        ),
        "",
      );
    }
    for (const n of o.notes ?? []) out.push(`- ${n}`);
  }
  const c = capacityReport(r);
  out.push("", `## ${c.title}`, "", table(c.head, c.rows), "");
  if (c.missing) out.push(c.missing, "");
  out.push("Assumptions:", "", ...c.assumptions.map((a) => `- ${a}`), "", "Where the model stops holding:", "", ...c.limits.map((a) => `- ${a}`));
  return `${out.join("\n")}\n`;
}
