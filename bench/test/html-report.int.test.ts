/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The HTML report in a real browser: Debian's chromium, headless, driven by playwright-core.
 * Every chart must have drawn its data (Chart.js's own elements, and coloured pixels where
 * they are), and the page must fetch nothing but itself: it opens with no network. Without
 * chromium this fails (make chromium installs it); it never skips.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeRunFolder } from "../src/results/run-folder.js";
import type { RunResults } from "../src/results/run-results.js";

const CHROMIUM = process.env.SB_CHROMIUM ?? "/usr/bin/chromium";

const cdf = (n: number, scale: number): [number, number][] => Array.from({ length: n }, (_, i) => [scale * (1 + i + ((i * 7) % 5)), (i + 1) / n]);

const run: RunResults = {
  info: {
    commit: "0123456789ab",
    node: "v20.0.0",
    natsServer: "v2.9.10",
    kernel: "6.1.0 (#1 SMP)",
    cpuModel: "Some CPU",
    cpus: 2,
    memoryGiB: 24,
    startedAt: "2026-01-02T03:04:05.678Z",
    scale: 1,
    quick: false,
  },
  scenarios: {
    "fanout-burst": {
      seconds: 61,
      figures: { ratio: 0.81, connections: 10_000 },
      target: { text: "gateway >= 70% of raw uWS", met: true },
      rows: [
        { label: "round 1", subject: "Switchboard gateway", peer: false, values: { deliveries: 1_000_000, deliveries_per_cpu_s: 900_000 } },
        { label: "round 1", subject: "raw uWS.js", peer: true, values: { deliveries: 1_000_000, deliveries_per_cpu_s: 1_100_000 } },
        { label: "round 2", subject: "ws", peer: true, values: {}, failed: "incomplete deliveries: 1 missing on 1 of 10000 connections" },
      ],
      charts: [
        {
          title: "Deliveries per CPU-second",
          kind: "bar",
          xLabel: "round",
          yLabel: "deliveries / CPU-s",
          labels: ["round 1", "round 2", "round 3"],
          series: [
            { label: "Switchboard gateway", data: [900_000, 950_000, 910_000] },
            { label: "raw uWS.js", data: [1_100_000, 1_150_000, 1_120_000] },
            { label: "ws", data: [110_000, 120_000, 100_000] },
          ],
        },
        {
          title: "Completion CDF",
          kind: "cdf",
          xLabel: "ms",
          yLabel: "fraction",
          series: [
            { label: "Switchboard gateway", data: cdf(50, 3) },
            { label: "raw uWS.js", data: cdf(50, 2) },
          ],
        },
        {
          title: "Latency histogram",
          kind: "histogram",
          xLabel: "ms",
          yLabel: "deliveries",
          series: [
            { label: "Switchboard gateway", data: Array.from({ length: 20 }, (_, i): [number, number] => [i + 0.5, 10 + ((i * 13) % 17)]) },
            { label: "raw uWS.js", data: Array.from({ length: 20 }, (_, i): [number, number] => [i + 0.5, 5 + ((i * 7) % 11)]) },
          ],
        },
        {
          title: "Throughput over connections",
          kind: "line",
          xLabel: "connections",
          yLabel: "deliveries / s",
          series: [
            {
              label: "Switchboard gateway",
              data: [
                [1000, 50_000],
                [5000, 120_000],
                [10_000, 140_000],
              ],
            },
            {
              label: "raw uWS.js",
              data: [
                [1000, 60_000],
                [5000, 150_000],
                [10_000, 170_000],
              ],
            },
          ],
        },
      ],
      notes: ["a note </script><b>not bold</b>"],
    },
    "presence-read": { seconds: 3, error: "Error: the stack did not start" },
  },
};

let browser: Browser | undefined;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-report-"));
});

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("HTML report", () => {
  it("draws every chart's data in headless chromium and fetches nothing", async () => {
    // In the test, not in a hook: a missing chromium fails this test rather than skipping it.
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run make chromium (apt-get install chromium)`).toBe(true);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], headless: true });
    const { dir: runDir } = writeRunFolder(run, dir);
    const file = join(runDir, "report.html");
    const url = pathToFileURL(file).href;
    const page = await browser.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    // Anything but the file itself is refused (and counted above).
    await page.route("**/*", (route) => (route.request().url() === url ? route.continue() : route.abort()));
    await page.goto(url);
    await page.waitForSelector("body[data-drawn]", { timeout: 15_000 });

    const charts = await page.evaluate(() => {
      const g = globalThis as unknown as {
        Chart: {
          getChart(c: HTMLCanvasElement):
            | {
                data: { datasets: { data: unknown[]; borderColor: string }[] };
                getDatasetMeta(i: number): { data: { x: number; y: number; base?: number }[] };
                chartArea: { left: number; right: number; top: number; bottom: number };
              }
            | undefined;
        };
      };
      return [...document.querySelectorAll<HTMLCanvasElement>("canvas[data-chart]")].map((canvas) => {
        const chart = g.Chart.getChart(canvas);
        if (!chart) return { title: canvas.getAttribute("aria-label"), datasets: [] };
        const ctx = canvas.getContext("2d")!;
        const ratio = canvas.width / canvas.clientWidth;
        const a = chart.chartArea;
        const datasets = chart.data.datasets.map((d, i) => {
          const els = chart.getDatasetMeta(i).data;
          const hex = d.borderColor;
          const want = [1, 3, 5].map((o) => parseInt(hex.slice(o, o + 2), 16));
          // Drawn: in the plot area, a bar of some height, and the pixel at its middle in the dataset's colour.
          const drawn = els.filter((e) => {
            const bar = e.base !== undefined;
            if (bar && !(Math.abs(e.base! - e.y) >= 2)) return false;
            const y = bar ? (e.y + e.base!) / 2 : e.y;
            if (!(e.x >= a.left && e.x <= a.right && y >= a.top && y <= a.bottom)) return false;
            const px = ctx.getImageData(Math.round(e.x * ratio), Math.round(y * ratio), 1, 1).data;
            return px[3]! > 0 && Math.abs(px[0]! - want[0]!) + Math.abs(px[1]! - want[1]!) + Math.abs(px[2]! - want[2]!) < 60;
          }).length;
          return { points: d.data.length, elements: els.length, drawn };
        });
        return { title: canvas.getAttribute("aria-label"), datasets };
      });
    });

    expect(requests).toEqual([url]);
    expect(errors).toEqual([]);
    expect(charts.map((c) => c.title)).toEqual(["Deliveries per CPU-second", "Completion CDF", "Latency histogram", "Throughput over connections"]);
    for (const c of charts) {
      expect(c.datasets.length, c.title ?? "").toBeGreaterThan(0);
      for (const d of c.datasets) {
        expect(d.points, c.title ?? "").toBeGreaterThan(0);
        expect(d.elements, c.title ?? "").toBe(d.points);
        // Points of one series may hide under another's: most must show.
        expect(d.drawn, c.title ?? "").toBeGreaterThanOrEqual(Math.ceil(d.points * 0.75));
      }
    }

    // The failed row shows its reason and no figures; the note's markup is text, not markup.
    const failedRow = await page.locator("tr.failed", { hasText: "round 2" }).innerText();
    expect(failedRow).toContain("FAILED: incomplete deliveries: 1 missing");
    expect(failedRow).not.toMatch(/\d{3},\d{3}/);
    expect(await page.locator("li", { hasText: "a note" }).innerText()).toBe("a note </script><b>not bold</b>");
    expect(await page.locator("#presence-read + p").innerText()).toContain("the stack did not start");
    await page.close();
    expect(readFileSync(join(runDir, "summary.md"), "utf8")).toContain("| round 2 | ws | FAILED: incomplete deliveries: 1 missing on 1 of 10000 connections |");
  });
});
