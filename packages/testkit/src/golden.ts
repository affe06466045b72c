/**
 * Golden fixtures: what Mattermost answers to one REST call, derived from its sources (no
 * Mattermost server runs here), and the comparison of a Switchboard answer against it.
 *
 * A fixture is a JSON file:
 *
 *     {
 *       "source": ["server/channels/api4/channel.go@v11.x.y getChannelStats", "server/public/model/channel_stats.go@v11.x.y"],
 *       "request": "GET /api/v4/channels/{channel_id}/stats",
 *       "status": 200,
 *       "body": { "channel_id": "…", "member_count": 2, "pinnedpost_count": 0, "files_count": 0 },
 *       "exact": ["$.pinnedpost_count"],
 *       "optional": [],
 *       "anyType": []
 *     }
 *
 * `body` is an example answer. The comparison checks its shape: the same status, objects with
 * the same keys, values of the same JSON type, and every element of an array shaped like the
 * example's first element. Paths name places in the body (`$.a.b`, `$[*].c`, array indices
 * written `[*]`):
 * - `exact`: the value there must equal the example's (error ids, status codes, constants);
 * - `optional`: the key may be absent (Mattermost's `omitempty`);
 * - `anyType`: any JSON type is accepted there (fields that are `null` or a value).
 * `source` must cite the Mattermost files the fixture was derived from.
 */
import { readFileSync } from "node:fs";

export interface Golden {
  readonly source: readonly string[];
  readonly request: string;
  readonly status: number;
  readonly body: unknown;
  readonly exact?: readonly string[];
  readonly optional?: readonly string[];
  readonly anyType?: readonly string[];
}

/** Reads and checks one fixture file. */
export function readGolden(file: string): Golden {
  const g = JSON.parse(readFileSync(file, "utf8")) as Partial<Golden>;
  if (!Array.isArray(g.source) || g.source.length === 0) throw new Error(`${file}: a golden fixture must cite its Mattermost sources`);
  if (typeof g.request !== "string" || typeof g.status !== "number" || !("body" in g)) {
    throw new Error(`${file}: a golden fixture needs request, status and body`);
  }
  return g as Golden;
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** The differences between an answer and the fixture; empty when the answer matches. */
export function compareToGolden(golden: Golden, status: number, body: unknown): string[] {
  const diffs: string[] = [];
  if (status !== golden.status) diffs.push(`status: expected ${golden.status}, got ${status}`);
  const exact = new Set(golden.exact ?? []);
  const optional = new Set(golden.optional ?? []);
  const anyType = new Set(golden.anyType ?? []);
  const walk = (path: string, want: unknown, got: unknown): void => {
    if (anyType.has(path)) return;
    if (exact.has(path)) {
      if (JSON.stringify(want) !== JSON.stringify(got)) diffs.push(`${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
      return;
    }
    const wt = typeOf(want);
    const gt = typeOf(got);
    if (wt !== gt) {
      diffs.push(`${path}: expected ${wt}, got ${gt}`);
      return;
    }
    if (wt === "array") {
      const w = want as unknown[];
      if (w.length === 0) return;
      (got as unknown[]).forEach((g, i) => walk(`${path}[*]`, w[Math.min(i, w.length - 1)], g));
      return;
    }
    if (wt === "object") {
      const w = want as Record<string, unknown>;
      const g = got as Record<string, unknown>;
      for (const k of Object.keys(w)) {
        const p = `${path}.${k}`;
        if (!(k in g)) {
          if (!optional.has(p)) diffs.push(`${p}: missing`);
          continue;
        }
        walk(p, w[k], g[k]);
      }
      for (const k of Object.keys(g)) if (!(k in w)) diffs.push(`${path}.${k}: not in Mattermost's answer`);
    }
  };
  walk("$", golden.body, body);
  return diffs;
}
