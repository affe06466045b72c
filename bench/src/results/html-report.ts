/**
 * The HTML report of a run: one self-contained file that opens in a browser with no network.
 * Chart.js (a well-kept charting library, from npm) is inlined into it, as are the run's
 * numbers; each scenario gets its target, its figures, its rows (failed ones marked, with no
 * figures) and its charts: Switchboard beside each peer, distributions where the rows have them.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ChartSpec } from "../scenario.js";
import { capacityReport } from "./capacity-model.js";
import { isError, type RunResults } from "./run-results.js";
import { formatNumber, outcomeText, rowColumns } from "./summary.js";

const require = createRequire(import.meta.url);

/** Chart.js's own minified UMD build, as published. */
function chartJs(): string {
  return readFileSync(join(dirname(require.resolve("chart.js")), "chart.umd.min.js"), "utf8");
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** JSON that can sit inside a <script> element. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, "\\u003c");

function tableHtml(head: readonly string[], rows: readonly { cells: readonly string[]; failed?: boolean }[]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr${r.failed ? ' class="failed"' : ""}>${r.cells.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

/** The browser side: draws every chart from the inlined specs. */
const DRAW = `
const specs = JSON.parse(document.getElementById("chart-specs").textContent);
const colours = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4"];
Chart.defaults.animation = false;
Chart.defaults.font.family = "system-ui, sans-serif";
for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
  const spec = specs[Number(canvas.dataset.chart)];
  const axis = (text) => ({ title: { display: true, text } });
  const datasets = spec.series.map((s, i) => {
    const colour = colours[i % colours.length];
    const data = spec.kind === "bar" ? s.data : s.data.map(([x, y]) => ({ x, y }));
    return { label: s.label, data, borderColor: colour, backgroundColor: spec.kind === "histogram" || spec.kind === "bar" ? colour + "b0" : colour,
      pointRadius: spec.kind === "bar" || spec.kind === "histogram" ? undefined : 2, showLine: spec.kind !== "histogram", stepped: spec.kind === "cdf" ? "before" : false,
      barPercentage: spec.kind === "histogram" ? 1 : 0.9, categoryPercentage: spec.kind === "histogram" ? 1 : 0.8 };
  });
  const type = spec.kind === "bar" ? "bar" : spec.kind === "histogram" ? "bar" : "scatter";
  const x = spec.kind === "bar" ? axis(spec.xLabel) : { ...axis(spec.xLabel), type: "linear" };
  const y = { ...axis(spec.yLabel), beginAtZero: true, ...(spec.kind === "cdf" ? { max: 1 } : {}) };
  new Chart(canvas, {
    type,
    data: spec.kind === "bar" ? { labels: spec.labels, datasets } : { datasets },
    options: { responsive: true, maintainAspectRatio: false, parsing: spec.kind === "bar" ? undefined : false, scales: { x, y },
      plugins: { title: { display: true, text: spec.title }, legend: { position: "bottom" } } },
  });
}
document.body.dataset.drawn = String(document.querySelectorAll("canvas[data-chart]").length);
`;

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1f2328; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left; }
th { background: #f6f8fa; }
tr.failed td { background: #ffebe9; color: #82071e; }
.met { color: #1a7f37; font-weight: 600; } .missed { color: #9a6700; font-weight: 600; } .bad { color: #d1242f; font-weight: 600; }
.chart { position: relative; height: 320px; margin: 1rem 0 2rem; }
section { border-top: 1px solid #d0d7de; margin-top: 2rem; }
`;

function outcomeClass(text: string): string {
  return text === "MET" ? "met" : text === "NOT MET" ? "missed" : "bad";
}

export function renderHtml(r: RunResults): string {
  const i = r.info;
  const specs: ChartSpec[] = [];
  const sections: string[] = [];
  for (const [name, o] of Object.entries(r.scenarios)) {
    const parts = [`<section><h2 id="${esc(name)}">${esc(name)}</h2>`];
    if (isError(o)) {
      parts.push(`<p class="bad">Error: ${esc(o.error)}</p></section>`);
      sections.push(parts.join(""));
      continue;
    }
    const verdict = outcomeText(o);
    if (o.target) parts.push(`<p>Target: ${esc(o.target.text)} → <span class="${outcomeClass(verdict)}">${esc(verdict)}</span></p>`);
    for (const c of o.charts ?? []) {
      parts.push(`<div class="chart"><canvas data-chart="${String(specs.length)}" aria-label="${esc(c.title)}"></canvas></div>`);
      specs.push(c);
    }
    const rows = o.rows ?? [];
    if (rows.length > 0) {
      const cols = rowColumns(rows);
      parts.push(
        "<h3>Rows</h3>",
        tableHtml(
          ["phase", "subject", "status", ...cols],
          rows.map((row) => ({
            failed: row.failed !== undefined,
            cells: [
              row.label,
              row.subject,
              row.failed ? `FAILED: ${row.failed}` : "ok",
              ...cols.map((k) => (k in row.values ? formatNumber(row.values[k]!) : "")),
            ],
          })),
        ),
      );
    }
    const figures = Object.entries(o.figures);
    if (figures.length > 0)
      parts.push(
        "<h3>Figures</h3>",
        tableHtml(
          ["figure", "value"],
          figures.map(([k, v]) => ({ cells: [k, formatNumber(v)] })),
        ),
      );
    if (o.notes?.length) parts.push(`<ul>${o.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>`);
    parts.push("</section>");
    sections.push(parts.join(""));
  }
  const c = capacityReport(r);
  sections.push(
    [
      `<section><h2 id="capacity-model">${esc(c.title)}</h2>`,
      tableHtml(
        c.head,
        c.rows.map((cells) => ({ cells })),
      ),
      c.missing ? `<p>${esc(c.missing)}</p>` : "",
      `<h3>Assumptions</h3><ul>${c.assumptions.map((a) => `<li>${esc(a)}</li>`).join("")}</ul>`,
      `<h3>Where the model stops holding</h3><ul>${c.limits.map((a) => `<li>${esc(a)}</li>`).join("")}</ul></section>`,
    ].join(""),
  );
  const targets = tableHtml(
    ["scenario", "target", "outcome", "time"],
    Object.entries(r.scenarios).map(([name, o]) => ({
      failed: isError(o) || outcomeText(o).startsWith("FAILED"),
      cells: [name, isError(o) ? "" : (o.target?.text ?? ""), outcomeText(o), `${o.seconds.toFixed(0)} s`],
    })),
  );
  const context = tableHtml(
    ["commit", "Node", "nats-server", "kernel", "CPU", "memory", "scale", "started"],
    [
      {
        cells: [
          i.commit,
          i.node,
          i.natsServer,
          i.kernel,
          `${i.cpuModel} × ${String(i.cpus)}`,
          `${String(i.memoryGiB)} GiB`,
          `${String(i.scale)}${i.quick ? " (QUICK)" : ""}`,
          i.startedAt,
        ],
      },
    ],
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard benchmarks ${esc(i.startedAt)} ${esc(i.commit)}</title>
<style>${STYLE}</style></head>
<body><h1>Switchboard benchmarks</h1>${context}${targets}${sections.join("\n")}
<script id="chart-specs" type="application/json">${scriptJson(specs)}</script>
<script>${chartJs()}</script>
<script>${DRAW}</script>
</body></html>
`;
}
