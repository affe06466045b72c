/**
 * Bad input gets a clear error or a clean close with a documented code, and the gateway keeps
 * serving everyone else through all of it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { encode as encodeMsgpack } from "@msgpack/msgpack";
import { startStack, waitFor, type Stack } from "@switchboard/testkit";
import { connect, newUser, postOf, wsUrl, type Recorder, type TestUser } from "./support.js";

let stack: Stack;
let url: string;
let alice: TestUser;
let healthy: Recorder;
let channelId: string;

interface Raw {
  ws: WebSocket;
  messages: Record<string, unknown>[];
  closed: Promise<{ code: number; ms: number }>;
}

function raw(headers: Record<string, string> = {}, query = ""): Promise<Raw> {
  const started = Date.now();
  const ws = new WebSocket(`${wsUrl(url)}${query}`, { headers });
  const messages: Record<string, unknown>[] = [];
  ws.on("message", (d) => messages.push(JSON.parse((d as Buffer).toString()) as Record<string, unknown>));
  const closed = new Promise<{ code: number; ms: number }>((resolve) => ws.on("close", (code) => resolve({ code, ms: Date.now() - started })));
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, messages, closed }));
    ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
    ws.once("error", reject);
  });
}

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
  alice = await newUser(url, "alice");
  const team = await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never);
  const ch = await alice.client.createChannel({ team_id: team.id, name: `c${Date.now()}`, display_name: "C", type: "O" } as never);
  channelId = ch.id;
  healthy = await connect(url, alice.token);
});

afterAll(async () => {
  healthy?.close();
  await stack?.stop();
});

describe("bad input on the WebSocket", () => {
  it("closes an unauthenticated socket after 5 s", async () => {
    const r = await raw();
    const { code, ms } = await r.closed;
    expect(code).toBe(4500);
    expect(ms).toBeGreaterThanOrEqual(4_500);
    expect(ms).toBeLessThan(8_000);
    expect(r.messages).toEqual([]);
  });

  it("closes on a bad authentication_challenge token without a FAIL reply", async () => {
    const r = await raw();
    r.ws.send(JSON.stringify({ seq: 1, action: "authentication_challenge", data: { token: "not-a-token" } }));
    expect((await r.closed).code).toBe(4500);
    expect(r.messages).toEqual([]);
  });

  it("accepts a good authentication_challenge: hello, then OK", async () => {
    const r = await raw();
    r.ws.send(JSON.stringify({ seq: 1, action: "authentication_challenge", data: { token: alice.token } }));
    await waitFor(() => r.messages.length >= 2);
    expect(r.messages[0]!.event).toBe("hello");
    expect(r.messages[1]).toEqual({ status: "OK", seq_reply: 1 });
    r.ws.close();
  });

  it("refuses a bad token and a disallowed Origin before the upgrade", async () => {
    await expect(raw({ Authorization: "Bearer nope" })).rejects.toMatchObject({ status: 401 });
    await expect(raw({ Authorization: `Bearer ${alice.token}`, Origin: "https://evil.example" })).rejects.toMatchObject({ status: 403 });
    await expect(raw({}, `?access_token=${alice.token}`)).rejects.toMatchObject({ status: 401 });
  });

  it("closes with 1009 on a 9 KB frame and on a non-JSON frame", async () => {
    const big = await raw({ Authorization: `Bearer ${alice.token}` });
    big.ws.send(JSON.stringify({ seq: 1, action: "ping", data: { pad: "x".repeat(9 * 1024) } }));
    expect((await big.closed).code).toBe(1009);
    const junk = await raw({ Authorization: `Bearer ${alice.token}` });
    junk.ws.send("{not json");
    expect((await junk.closed).code).toBe(4502);
  });

  it("answers unknown actions with FAIL and stays silent for custom_ actions", async () => {
    const r = await raw({ Authorization: `Bearer ${alice.token}` });
    await waitFor(() => r.messages.length >= 1);
    r.ws.send(JSON.stringify({ seq: 1, action: "no_such_action" }));
    r.ws.send(JSON.stringify({ seq: 2, action: "custom_plugin_thing" }));
    r.ws.send(JSON.stringify({ seq: 0, action: "ping" }));
    r.ws.send(JSON.stringify({ seq: 3, action: "ping" }));
    await waitFor(() => r.messages.some((m) => m.seq_reply === 3));
    const replies = r.messages.filter((m) => "status" in m);
    expect(replies[0]).toMatchObject({ status: "FAIL", seq_reply: 1, error: { id: "api.web_socket_router.bad_action.app_error", status_code: 500 } });
    expect(replies[1]).toMatchObject({ status: "FAIL", error: { id: "api.web_socket_router.bad_seq.app_error" } });
    expect(replies[2]).toMatchObject({ status: "OK", seq_reply: 3, data: { text: "pong" } });
    expect(replies.some((m) => m.seq_reply === 2)).toBe(false);
    r.ws.close();
  });
});

describe("binary frames and probes", () => {
  it("accepts msgpack binary requests like JSON ones", async () => {
    const r = await raw({ Authorization: `Bearer ${alice.token}` });
    await waitFor(() => r.messages.length >= 1);
    r.ws.send(encodeMsgpack({ seq: 7, action: "ping", data: {} }), { binary: true });
    await waitFor(() => r.messages.some((m) => m.seq_reply === 7));
    expect(r.messages.find((m) => m.seq_reply === 7)).toMatchObject({ status: "OK", data: { text: "pong" } });
    r.ws.send(Buffer.from([0xc1, 0xff, 0x00]), { binary: true });
    expect((await r.closed).code).toBe(4502);
  });

  it("serves /healthz and /readyz on the ops port, and /metrics with the gateway's figures", async () => {
    const ops = `http://127.0.0.1:${String(stack.gateways[0]!.ready.ops_port)}`;
    expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    const ready = await fetch(`${ops}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, reasons: [] });
    const metrics = await (await fetch(`${ops}/metrics`)).text();
    for (const m of [
      "sb_gateway_sockets",
      "sb_gateway_deliveries_total",
      "sb_gateway_resumes_total",
      "sb_gateway_slow_closes_total",
      "sb_gateway_shed_events_total",
      "sb_gateway_nats_subscriptions",
    ]) {
      expect(metrics).toContain(m);
    }
  });
});

describe("bad input on REST", () => {
  it("answers invalid ids with 400 and a Mattermost error body", async () => {
    for (const [method, path, body] of [
      ["POST", "/api/v4/posts", { channel_id: "not-an-id", message: "x" }],
      ["GET", "/api/v4/channels/nope", undefined],
      ["POST", "/api/v4/channels/" + channelId + "/members", { user_id: "../../etc" }],
      ["POST", "/api/v4/users/ids", "not json"],
    ] as const) {
      const res = await fetch(url + path, {
        method,
        headers: { Authorization: `Bearer ${alice.token}`, "Content-Type": "application/json" },
        ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
      });
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/json");
      const e = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(e).sort()).toEqual(["detailed_error", "id", "message", "request_id", "status_code"]);
      expect(e.status_code).toBe(400);
      expect(e.id).toMatch(/^api\.context\.invalid_(body|url)_param\.app_error$/);
    }
  });

  it("answers the client config as Mattermost does without format=old: 501 with no format, 400 for another", async () => {
    const get = async (query: string) => {
      const res = await fetch(`${url}/api/v4/config/client${query}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await get("")).toMatchObject({ status: 501, body: { id: "api.config.client.old_format.app_error", status_code: 501 } });
    expect(await get("?format=json")).toMatchObject({ status: 400, body: { id: "api.context.invalid_url_param.app_error", status_code: 400 } });
    expect((await get("?format=old")).body).toHaveProperty("Version");
  });

  it("kept serving the healthy client through all of it", async () => {
    const p = await alice.client.createPost({ channel_id: channelId, message: "still here" });
    await healthy.next((e) => e.event === "posted" && postOf(e).id === p.id);
  });
});
