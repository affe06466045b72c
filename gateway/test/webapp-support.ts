/** Helpers of the webapp route tests: raw REST calls, golden fixtures, "nothing was written". */
import { expect } from "vitest";
import { compareToGolden, dbFingerprint, readGolden, type DbFingerprint, type Stack } from "@switchboard/testkit";

export interface RawAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** One REST call with the caller's bearer token; `body` is sent as is when it is a string. */
export async function rest(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<RawAnswer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : (JSON.parse(text) as unknown) };
}

/** Asserts an answer matches the fixture gateway/test/golden/<name>. */
export function expectGolden(name: string, a: RawAnswer): void {
  const g = readGolden(new URL(`./golden/${name}`, import.meta.url).pathname);
  expect(compareToGolden(g, a.status, a.body), `${name}: ${JSON.stringify(a.body)}`).toEqual([]);
}

/** The posts tables a webapp route may write, and the outbox. */
const POSTS_TABLES = [
  "channels",
  "channel_members",
  "posts",
  "reactions",
  "team_members",
  "teams",
  "sidebar_categories",
  "sidebar_channels",
  "threads",
  "thread_memberships",
] as const;

export function postsFingerprint(stack: Stack): Promise<DbFingerprint> {
  return dbFingerprint(stack.db.url, "posts", POSTS_TABLES);
}

/** Runs a refused call and asserts its fixture and that no table of posts (nor its outbox) changed. */
export async function expectRefusedUnchanged(stack: Stack, golden: string, call: () => Promise<RawAnswer>): Promise<void> {
  const before = await postsFingerprint(stack);
  expectGolden(golden, await call());
  expect(await postsFingerprint(stack), `${golden}: a refused call wrote something`).toEqual(before);
}
