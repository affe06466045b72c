/** Reads counters off a deployable's Prometheus `/metrics` endpoint (its ops port). */

/** The sum of every sample of `name` whose labels include all of `labels`, by the value of `by`. */
export async function counterBy(url: string, name: string, labels: Readonly<Record<string, string>>, by: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${String(res.status)}`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf("}");
    const found = new Map<string, string>();
    for (const m of line.slice(name.length + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found.set(m[1]!, m[2]!);
    if (Object.entries(labels).some(([k, v]) => found.get(k) !== v)) continue;
    const key = found.get(by) ?? "";
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(close + 1).trim()));
  }
  return out;
}

/** `after` minus `before`, per key. */
export function delta(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

/**
 * One scrape of a `/metrics` page, read by sample name: the value of the first sample of a
 * name whatever its labels (a gauge a process has once), or NaN when there is none.
 */
export async function scrapeSamples(url: string): Promise<(name: string) => number> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${String(res.status)}`);
  const lines = (await res.text()).split("\n");
  return (name) => {
    for (const line of lines) {
      if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1).trim());
      if (line.startsWith(`${name}{`)) return Number(line.slice(line.lastIndexOf("}") + 1).trim());
    }
    return NaN;
  };
}
