/**
 * Profile images: a deterministic PNG per user with Mattermost's headers, 304 for a matching
 * If-None-Match, and Mattermost's errors for unknown users and malformed ids.
 */
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@switchboard/testkit";
import { call, goldenDiffs } from "../golden-check.js";
import { newUser, type TestUser } from "../support.js";

let stack: Stack;
let url: string;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  stack = await startStack();
  [url] = stack.gatewayUrls as [string];
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
});

afterAll(async () => {
  await stack?.stop();
});

async function image(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${alice.token}`, ...headers } });
}

describe("profile images", () => {
  it("a 128x128 PNG per user, the same bytes each time, with Mattermost's headers", async () => {
    const r = await image(`/api/v4/users/${bob.id}/image`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("image/png");
    expect(r.headers.get("cache-control")).toBe("max-age=86400, private");
    expect(r.headers.get("etag")).toBe("0");
    const bytes = Buffer.from(await r.arrayBuffer());
    const png = PNG.sync.read(bytes);
    expect([png.width, png.height]).toEqual([128, 128]);
    const again = Buffer.from(await (await image(`/api/v4/users/${bob.id}/image?_=123`)).arrayBuffer());
    expect(again.equals(bytes)).toBe(true);
    const def = await image(`/api/v4/users/${bob.id}/image/default`);
    expect(def.status).toBe(200);
    expect(def.headers.get("cache-control")).toBe("max-age=86400, private");
    expect(Buffer.from(await def.arrayBuffer()).equals(bytes)).toBe(true);
    const mine = await image("/api/v4/users/me/image");
    expect(mine.status).toBe(200);
  });

  it("answers 304 to a matching If-None-Match, the image otherwise", async () => {
    const r = await image(`/api/v4/users/${bob.id}/image`, { "If-None-Match": "0" });
    expect(r.status).toBe(304);
    expect(r.headers.get("etag")).toBe("0");
    expect((await r.arrayBuffer()).byteLength).toBe(0);
    expect((await image(`/api/v4/users/${bob.id}/image`, { "If-None-Match": "17" })).status).toBe(200);
  });

  it("each answer matches its golden fixture", async () => {
    const t = alice.token;
    expect(goldenDiffs("images", "image", await call(url, "GET", `/api/v4/users/${bob.id}/image`, { token: t }))).toEqual([]);
    const notModified = await call(url, "GET", `/api/v4/users/${bob.id}/image`, { token: t, headers: { "If-None-Match": "0" } });
    expect(goldenDiffs("images", "not-modified", notModified)).toEqual([]);
    expect(goldenDiffs("images", "unknown-user", await call(url, "GET", "/api/v4/users/8xk1bq9d7fgw3c5hxa6y4p2tno/image", { token: t }))).toEqual([]);
    expect(goldenDiffs("images", "unknown-user", await call(url, "GET", "/api/v4/users/8xk1bq9d7fgw3c5hxa6y4p2tno/image/default", { token: t }))).toEqual([]);
    expect(goldenDiffs("images", "bad-user-id", await call(url, "GET", "/api/v4/users/nope/image", { token: t }))).toEqual([]);
    expect(goldenDiffs("boot", "unauthenticated", await call(url, "GET", `/api/v4/users/${bob.id}/image`))).toEqual([]);
  });
});
