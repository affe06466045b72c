/**
 * The limits one gateway keeps on its own sockets:
 * - requests per connection (token bucket): over it a FAIL reply with Mattermost's error shape,
 *   and a client that keeps on is closed with 4004;
 * - upgrades per second and upgrades in progress: over either, 503 with Retry-After before any
 *   work;
 * - a socket that answers nothing (no pong: a peer gone without a FIN) is closed within the
 *   idle timeout, even while events are being sent to it; a quiet live client is kept.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "node:http";
import WebSocket from "ws";
import { CloseCode } from "@switchboard/bus";
import { seedUsers, startStack, waitFor, type SeededUser, type Stack } from "@switchboard/testkit";
import { wsUrl } from "./support.js";

const PER_SEC = 10;
const BURST = 5;
const IDLE_S = 8;

interface Socket {
  readonly ws: WebSocket;
  readonly frames: Record<string, unknown>[];
  readonly hello: Promise<void>;
  readonly closed: Promise<number>;
}

function open(url: string, token: string, o: { autoPong?: boolean } = {}): Socket {
  const ws = new WebSocket(wsUrl(url), { headers: { Authorization: `Bearer ${token}` }, autoPong: o.autoPong ?? true });
  const frames: Record<string, unknown>[] = [];
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  const hello = new Promise<void>((resolve, reject) => {
    ws.on("message", (raw: Buffer) => {
      const m = JSON.parse(raw.toString()) as Record<string, unknown>;
      frames.push(m);
      if (m.event === "hello") resolve();
    });
    void closed.then((code) => reject(new Error(`closed with ${code} before hello`)));
    ws.once("error", reject);
  });
  hello.catch(() => undefined);
  return { ws, frames, hello, closed };
}

/** The upgrade's HTTP answer when it is refused (status, Retry-After), or "upgraded". */
function tryUpgrade(url: string, token: string): Promise<{ status: number; retryAfter?: string; body?: Record<string, unknown> } | "upgraded"> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(url), { headers: { Authorization: `Bearer ${token}` } });
    ws.once("upgrade", () => {
      resolve("upgraded");
      ws.close();
    });
    ws.once("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          ...(res.headers["retry-after"] ? { retryAfter: String(res.headers["retry-after"]) } : {}),
          body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
        }),
      );
    });
    ws.once("error", (e) => (e.message.includes("Unexpected server response") ? undefined : reject(e)));
  });
}

function putStatus(url: string, u: SeededUser, status: string): Promise<number> {
  const body = JSON.stringify({ user_id: u.id, status });
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/v4/users/${u.id}/status`,
      { method: "PUT", headers: { Authorization: `Bearer ${u.token}`, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("per-connection and per-gateway limits", () => {
  let stack: Stack;
  let url: string;
  let users: SeededUser[];

  beforeAll(async () => {
    stack = await startStack({
      gatewayEnv: {
        SB_GATEWAY_WS_COMMANDS_PER_SEC: String(PER_SEC),
        SB_GATEWAY_WS_COMMAND_BURST: String(BURST),
        SB_GATEWAY_IDLE_TIMEOUT_S: String(IDLE_S),
        SB_GATEWAY_UPGRADES_PER_SEC: "2",
        SB_GATEWAY_UPGRADE_BURST: "4",
      },
    });
    url = stack.gatewayUrls[0]!;
    users = await seedUsers({ databaseUrl: stack.db.url, count: 20 });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("answers requests over the per-connection rate with FAIL, then closes a client that keeps on with 4004", async () => {
    const s = open(url, users[0]!.token);
    await s.hello;
    // A burst's worth at once: all answered OK.
    for (let seq = 1; seq <= BURST; seq++) s.ws.send(JSON.stringify({ seq, action: "ping" }));
    await waitFor(() => s.frames.filter((f) => f.status === "OK").length === BURST, { timeoutMs: 5_000, what: "the burst answered" });
    // Then faster than the rate: FAIL replies in Mattermost's shape, then the close.
    for (let seq = BURST + 1; seq <= 3 * BURST + 5; seq++) s.ws.send(JSON.stringify({ seq, action: "ping" }));
    let code = 0;
    void s.closed.then((c) => (code = c));
    await waitFor(() => code !== 0, { timeoutMs: 5_000, what: "the close" });
    expect(code).toBe(CloseCode.RateLimited);
    const fails = s.frames.filter((f) => f.status === "FAIL");
    expect(fails.length).toBeGreaterThanOrEqual(BURST - 1);
    expect(fails[0]).toMatchObject({ status: "FAIL", error: { id: "api.context.rate_limit.app_error", status_code: 429 } });
    expect(typeof fails[0]!.seq_reply).toBe("number");
  });

  it("keeps a client at the rate", async () => {
    const s = open(url, users[1]!.token);
    await s.hello;
    for (let seq = 1; seq <= 3 * BURST; seq++) {
      s.ws.send(JSON.stringify({ seq, action: "ping" }));
      await waitFor(() => s.frames.some((f) => f.seq_reply === seq), { timeoutMs: 5_000, what: `reply ${seq}` });
      await new Promise((r) => setTimeout(r, 1000 / PER_SEC + 20));
    }
    expect(s.frames.filter((f) => f.status === "FAIL")).toEqual([]);
    s.ws.close();
  });

  it("closes a socket that answers nothing within the idle timeout, events flowing to it, and keeps a quiet live one", async () => {
    const deaf = users[2]!;
    const silent = open(url, deaf.token, { autoPong: false });
    const live = open(url, users[3]!.token);
    await Promise.all([silent.hello, live.hello]);
    const started = Date.now();
    let closedAt = 0;
    void silent.closed.then(() => (closedAt = Date.now()));
    // Events keep going to the silent socket (its own status changes) until it is closed.
    let i = 0;
    while (closedAt === 0 && Date.now() - started < (IDLE_S + 10) * 1000) {
      await putStatus(url, deaf, i++ % 2 === 0 ? "away" : "online");
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(closedAt).toBeGreaterThan(0);
    // uWS's timers have a 4 s granularity.
    expect(closedAt - started).toBeLessThanOrEqual((IDLE_S + 4) * 1000 + 1_000);
    expect(silent.frames.some((f) => f.event === "status_change")).toBe(true);
    // The live one, as quiet on its own, answers the pings and is still there past the timeout.
    let liveClosed = false;
    void live.closed.then(() => (liveClosed = true));
    while (Date.now() - started < (IDLE_S + 6) * 1000) {
      expect(liveClosed).toBe(false);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    process.stdout.write(`silent socket closed after ${closedAt - started} ms with ${await silent.closed}\n`);
    live.ws.close();
  });

  it("refuses upgrades above the per-gateway rate with 503 and Retry-After", async () => {
    // Let the bucket refill, then ask for more than its burst at once.
    await new Promise((r) => setTimeout(r, 2_500));
    const answers = await Promise.all(users.slice(4, 14).map((u) => tryUpgrade(url, u.token)));
    const refused = answers.filter((a) => a !== "upgraded");
    expect(answers.filter((a) => a === "upgraded").length).toBeLessThanOrEqual(5);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    for (const r of refused) {
      expect(r).toMatchObject({ status: 503, retryAfter: "1", body: { id: "api.web_socket.connect.busy.app_error", status_code: 503 } });
    }
  });
});

describe("upgrades in progress", () => {
  let stack: Stack;
  let users: SeededUser[];

  beforeAll(async () => {
    stack = await startStack({ gatewayEnv: { SB_GATEWAY_MAX_UPGRADES_IN_PROGRESS: "2", SB_GATEWAY_UPGRADES_PER_SEC: "0" } });
    users = await seedUsers({ databaseUrl: stack.db.url, count: 40 });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("refuses upgrades beyond those in progress with 503 and Retry-After, and takes them once those are done", async () => {
    const url = stack.gatewayUrls[0]!;
    const answers = await Promise.all(users.map((u) => tryUpgrade(url, u.token)));
    const refused = answers.filter((a) => a !== "upgraded");
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r).toMatchObject({ status: 503, retryAfter: "1" });
    // Nothing stays counted: one at a time, every one gets in.
    for (const u of users.slice(0, 5)) {
      const s = open(url, u.token);
      await s.hello;
      s.ws.close();
    }
  });
});
