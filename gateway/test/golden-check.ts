/** Calls a REST route and compares the answer with its golden fixture (gateway/test/golden/). */
import { fileURLToPath } from "node:url";
import { compareToGolden, readGolden } from "@switchboard/testkit";

export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

/** A request with the caller's token (if any) and an optional JSON body. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  o: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers.Authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get("content-type") ?? "").startsWith("application/json")) parsed = text === "" ? undefined : JSON.parse(text);
  return { status: res.status, body: parsed, headers: res.headers };
}

/** The differences between an answer and gateway/test/golden/<area>/<name>.json (empty when it matches). */
export function goldenDiffs(area: string, name: string, a: Answer): string[] {
  const file = fileURLToPath(new URL(`./golden/${area}/${name}.json`, import.meta.url));
  return compareToGolden(readGolden(file), a.status, a.body);
}
