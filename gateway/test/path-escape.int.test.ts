/**
 * A path parameter with a malformed percent-escape is a bad id (400 with a Mattermost error
 * body), not a crash: decodeURIComponent throws on it, and a throw inside a uWS handler ended
 * the gateway process (found by `make fuzz`).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startStack, type Stack } from "@switchboard/testkit";
import { newUser, type TestUser } from "./support.js";

let stack: Stack;
let url: string;
let alice: TestUser;

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
  alice = await newUser(url, "alice");
});

afterAll(async () => {
  await stack?.stop();
});

it("answers 400 to malformed escapes in path parameters and keeps serving", async () => {
  for (const path of ["/api/v4/users/%ZZ", "/api/v4/channels/%", "/api/v4/posts/%E0%A4%A/thread", "/api/v4/users/%ED%A0%80/status"]) {
    const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(r.status, path).toBe(400);
    expect(((await r.json()) as { status_code: number }).status_code).toBe(400);
  }
  const me = await fetch(`${url}/api/v4/users/me`, { headers: { authorization: `Bearer ${alice.token}` } });
  expect(me.status).toBe(200);
  expect(stack.gateways[0]!.logs.some((l) => l.msg === "ready")).toBe(true);
});
