/**
 * A run's folder, bench/results/<time>-<commit>/: results.json (the raw numbers and what they
 * ran on), summary.md and report.html. A full run's folder can be kept under bench/reports/,
 * which is committed.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { renderHtml } from "./html-report.js";
import type { RunResults } from "./run-results.js";
import { renderSummary } from "./summary.js";

const RUN_FILES = ["results.json", "summary.md", "report.html"] as const;

/** The folder's name: the start time (to the second, UTC) and the commit. */
function runFolderName(r: RunResults): string {
  return `${r.info.startedAt.replace(/\.\d+Z$/, "Z").replace(/:/g, "-")}-${r.info.commit.replace(/\+/g, "-")}`;
}

/** Writes the run's folder under `root`; returns its path and the summary. */
export function writeRunFolder(r: RunResults, root: string): { dir: string; summary: string } {
  const dir = join(root, runFolderName(r));
  mkdirSync(dir, { recursive: true });
  const summary = renderSummary(r);
  writeFileSync(join(dir, "results.json"), `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(join(dir, "summary.md"), summary);
  writeFileSync(join(dir, "report.html"), renderHtml(r));
  return { dir, summary };
}

/** Copies a run's folder into `reports` (bench/reports), under the same name; returns the copy's path. */
export function keepRunFolder(dir: string, reports: string): string {
  const to = join(reports, basename(dir));
  mkdirSync(to, { recursive: true });
  for (const f of RUN_FILES) copyFileSync(join(dir, f), join(to, f));
  return to;
}
