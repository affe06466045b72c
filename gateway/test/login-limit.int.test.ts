/**
 * Failed logins are limited per login_id and per client address for the whole cluster: two
 * gateways behind HAProxy and two accounts replicas share one count (PostgreSQL), so spreading
 * the guesses over them does not buy more. Over a limit the answer is 429 with Retry-After,
 * even for the right password; the gRPC Login is limited the same way. Clients reach HAProxy
 * from different loopback addresses (127.0.0.0/8) to be different addresses: the per-address
 * limit must not become one limit for everyone behind the proxy.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { AccountsService } from "@switchboard/proto/accounts";
import { createRpcClient, type AccountsClient } from "@switchboard/rpc";
import { AppError } from "@switchboard/model";
import { startCluster, type Cluster, testClientTls, waitFor } from "@switchboard/testkit";

const PER_LOGIN = 4;
const PER_IP = 6;
/**
 * The limiter counts in fixed windows aligned to the epoch (services/accounts login-limiter.ts).
 * A day: a test lands within EDGE_MS of a window's end (and waits for the next) once in ~2,000
 * runs, where a 10-minute window made one in 13 runs wait up to 45 s.
 */
const WINDOW_MS = 86_400_000;
/** More than any one test here takes: its counts must all fall in one window. */
const EDGE_MS = 45_000;

let cluster: Cluster;
let accounts: AccountsClient[];

beforeAll(async () => {
  cluster = await startCluster({
    size: "test",
    topology: { services: { accounts: 2 } },
    env: {
      SB_ACCOUNTS_LOGIN_MAX_FAILURES_PER_LOGIN: String(PER_LOGIN),
      SB_ACCOUNTS_LOGIN_MAX_FAILURES_PER_IP: String(PER_IP),
      SB_ACCOUNTS_LOGIN_WINDOW_MS: String(WINDOW_MS),
    },
  });
  accounts = cluster.services.accounts.map((r) =>
    createRpcClient(AccountsService, { address: `127.0.0.1:${r.grpcPort}`, defaultDeadlineMs: 10_000, tls: testClientTls("accounts") }),
  );
}, 120_000);

// A test that starts just before a window ends would see its counts start again halfway (a
// CI run's per-address case got "ok" where the limit was due, around a window's end): each
// starts at least EDGE_MS before the end of its window, or waits for the next one.
beforeEach(async () => {
  const left = () => WINDOW_MS - (Date.now() % WINDOW_MS);
  if (left() < EDGE_MS) await waitFor(() => left() > EDGE_MS, { timeoutMs: EDGE_MS + 5_000, intervalMs: 100, what: "the next login-limit window" });
}, EDGE_MS + 10_000);

afterAll(async () => {
  for (const c of accounts ?? []) c.close();
  await cluster?.stop();
}, 60_000);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** POST /api/v4/users/login from `localAddress` to `url`. */
function login(url: string, loginId: string, password: string, localAddress = "127.0.0.1"): Promise<Answer> {
  const body = JSON.stringify({ login_id: loginId, password });
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/v4/users/login`,
      { method: "POST", localAddress, headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString() || "{}") as Record<string, unknown> }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function newUser(): Promise<string> {
  const username = `lim${randomBytes(5).toString("hex")}`;
  await accounts[0]!.createUser({ username, email: `${username}@example.com`, password: "password-1" });
  return username;
}

function expectLimited(a: Answer): void {
  expect(a.status).toBe(429);
  expect(a.body).toMatchObject({ id: "api.context.rate_limit.app_error", status_code: 429 });
  expect(Number(a.headers["retry-after"])).toBeGreaterThan(0);
  expect(Number(a.headers["retry-after"])).toBeLessThanOrEqual(WINDOW_MS / 1000);
}

describe("failed-login limits", () => {
  it("limits one login_id over both gateways, also for the right password and from another address", async () => {
    const user = await newUser();
    const [gw0, gw1] = cluster.gateways.list.map((g) => g.url) as [string, string];
    for (let i = 0; i < PER_LOGIN; i++) {
      // Alternating gateways (and so, through their clients, accounts replicas).
      const a = await login(i % 2 === 0 ? gw0 : gw1, user, "wrong-password", "127.0.0.2");
      expect(a.status).toBe(401);
    }
    expectLimited(await login(gw1, user, "password-1", "127.0.0.2"));
    expectLimited(await login(gw0, user, "password-1", "127.0.0.3"));
    expectLimited(await login(cluster.url, user.toUpperCase(), "password-1", "127.0.0.4"));
  });

  it("limits one address through HAProxy, and only that address", async () => {
    const users = await Promise.all(Array.from({ length: PER_IP + 1 }, () => newUser()));
    for (let i = 0; i < PER_IP; i++) expect((await login(cluster.url, users[i]!, "wrong-password", "127.0.0.5")).status).toBe(401);
    // A login_id that never failed, with its right password: the address is over its limit.
    expectLimited(await login(cluster.url, users[PER_IP]!, "password-1", "127.0.0.5"));
    // Another client behind the same proxy is not.
    expect((await login(cluster.url, users[PER_IP]!, "password-1", "127.0.0.6")).status).toBe(200);
    // Only failures count per address: more people than the limit logging in at once from one address all get in.
    const all = await Promise.all(users.map((u) => login(cluster.url, u, "password-1", "127.0.0.7")));
    expect(all.map((a) => a.status)).toEqual(users.map(() => 200));
  });

  it("forgets a login_id's failures once its password was right", async () => {
    const user = await newUser();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < PER_LOGIN - 1; i++) expect((await login(cluster.url, user, "wrong-password", `127.0.1.${round}`)).status).toBe(401);
      expect((await login(cluster.url, user, "password-1", `127.0.1.${round}`)).status).toBe(200);
    }
  });

  it("limits the gRPC Login on every accounts replica, per login_id and per client_ip", async () => {
    const user = await newUser();
    const codeOf = async (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => "ok",
        (e: unknown) => (e instanceof AppError ? `${e.code}${e.retryAfterMs ? "+retry" : ""}` : String(e)),
      );
    for (let i = 0; i < PER_LOGIN; i++) {
      expect(await codeOf(accounts[i % 2]!.login({ loginId: user, password: "nope-nope" }))).toBe("unauthenticated");
    }
    expect(await codeOf(accounts[1]!.login({ loginId: user, password: "password-1" }))).toBe("resource_exhausted+retry");
    expect(await codeOf(accounts[0]!.login({ loginId: user, password: "password-1" }))).toBe("resource_exhausted+retry");

    const others = await Promise.all(Array.from({ length: PER_IP + 1 }, () => newUser()));
    for (let i = 0; i < PER_IP; i++) {
      expect(await codeOf(accounts[i % 2]!.login({ loginId: others[i]!, password: "nope-nope", clientIp: "198.51.100.9" }))).toBe("unauthenticated");
    }
    expect(await codeOf(accounts[0]!.login({ loginId: others[PER_IP]!, password: "password-1", clientIp: "198.51.100.9" }))).toBe("resource_exhausted+retry");
    expect(await codeOf(accounts[1]!.login({ loginId: others[PER_IP]!, password: "password-1", clientIp: "198.51.100.10" }))).toBe("ok");
  });

  it("stops a concurrent burst of guesses at the limit", async () => {
    const user = await newUser();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => login(cluster.url, user, `guess-${i}`, `127.0.2.${i}`)));
    expect(answers.filter((a) => a.status === 401).length).toBe(PER_LOGIN);
    expect(answers.filter((a) => a.status === 429).length).toBe(30 - PER_LOGIN);
  });
});
