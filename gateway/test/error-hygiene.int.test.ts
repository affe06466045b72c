/**
 * Errors never carry SQL or stacks: every error that leaves a process (REST bodies, WebSocket
 * FAIL replies, gRPC status messages and metadata) is checked for SQL, table and column
 * names, file paths, stack frames and addresses, while the test breaks things on purpose:
 * database errors (a constraint violated, a column renamed under a query, a trigger raising
 * an error that reads like SQL with a path and a stack, every connection dropped), bad input,
 * and a service gone. The detail stays in the server's log, under a request id that the
 * client's error also carries.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { subjects } from "@switchboard/bus";
import { AccountsService } from "@switchboard/proto/accounts";
import { PostsService } from "@switchboard/proto/posts";
import { PresenceService } from "@switchboard/proto/presence";
import { createRpcClient, ERROR_ID_KEY, REQUEST_ID_KEY } from "@switchboard/rpc";
import { execSql, startStack, waitFor, type ChildHandle, type Stack, testClientTls } from "@switchboard/testkit";
import { newUser, wsUrl, type TestUser } from "./support.js";

let stack: Stack;
let url: string;
let alice: TestUser;
let teamId: string;
let channelId: string;
let postId: string;
/** Tables with an underscore in their name (a bare word like "posts" is also plain English). */
let tableNames: string[] = [];

/** What must never appear in an error a client sees. */
const LEAKS: readonly (readonly [string, RegExp])[] = [
  ["SQL statement", /\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w+(\.\w+)?\s+SET\b|\bDELETE\s+FROM\b|\bRETURNING\b|\bON CONFLICT\b/i],
  [
    "PostgreSQL message",
    /\b(relation|column|constraint|table|function|trigger)\s+"|\bviolates\b|duplicate key|syntax error|SQLSTATE|\bpg_\w+|terminating connection|Connection terminated|does not exist/i,
  ],
  ["schema-qualified name", /\b(posts|accounts|presence|sb_ledger)\.[a-z_]+\b(?!\.v\d)/],
  ["stack frame", /\n\s*at\s|\bat\s+\S+\s+\(.*:\d+:\d+\)|\bat\s+(async\s+)?[\w.<>]+\s+\(/],
  ["file path", /(?:\/[\w.@-]+){2,}\.(?:ts|js|mjs|cjs)\b|node:internal|file:\/\/|\/(?:srv|home|usr|opt|work|tmp)\//],
  ["network address", /\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b|ECONN[A-Z]+|EPIPE|ETIMEDOUT/],
];

/** Every leak found in a text a client got. */
function leaks(text: string): string[] {
  const found = LEAKS.filter(([, re]) => re.test(text)).map(([what]) => what);
  for (const t of tableNames) if (new RegExp(`\\b${t}\\b`).test(text)) found.push(`table ${t}`);
  return found;
}

/** Every error a client got in this file, for the closing sweep. */
const seen: { where: string; text: string }[] = [];

function expectClean(where: string, text: string): void {
  seen.push({ where, text });
  expect(leaks(text), `${where}: ${text}`).toEqual([]);
}

interface RestError {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A REST call with the caller's token; returns the status and the parsed body. */
async function rest(method: string, path: string, body?: unknown, token = alice.token): Promise<RestError> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed };
}

/** A failed REST call: Mattermost's error shape, nothing internal in it; an internal one carries a request id. */
function expectCleanRestError(where: string, r: RestError, status?: number): void {
  expect(r.status, `${where}: ${JSON.stringify(r.body)}`).toBeGreaterThanOrEqual(400);
  if (status !== undefined) expect(r.status, `${where}: ${JSON.stringify(r.body)}`).toBe(status);
  expectClean(where, JSON.stringify(r.body));
  expect(typeof r.body.id).toBe("string");
  expect(typeof r.body.message).toBe("string");
  expect(r.body).toMatchObject({ detailed_error: "", status_code: r.status });
  if (r.status >= 500) expect(r.body.request_id).toMatch(/^[a-z0-9]{26}$/);
}

/**
 * The detail is in the logs: the gateway logged the client's request id with the service's
 * answer, which names the request id the service logged the detail under.
 */
async function expectLoggedDetail(requestId: unknown, service: ChildHandle, detail: RegExp): Promise<void> {
  const gw = await stack.gateways[0]!.waitForLog((l) => l.request_id === requestId, 5_000);
  const servicesId = /request id ([a-z0-9]{26})/.exec(JSON.stringify(gw))?.[1];
  expect(servicesId, JSON.stringify(gw)).toBeDefined();
  const line = await service.waitForLog((l) => l.request_id === servicesId, 5_000);
  expect(JSON.stringify(line)).toMatch(detail);
}

/** One WebSocket request and its reply. */
async function wsRequest(action: string, data: unknown): Promise<Record<string, unknown>> {
  const ws = new WebSocket(wsUrl(url), { headers: { Authorization: `Bearer ${alice.token}` } });
  const got: Record<string, unknown>[] = [];
  ws.on("message", (d) => got.push(JSON.parse((d as Buffer).toString()) as Record<string, unknown>));
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  try {
    await waitFor(() => got.some((m) => m.event === "hello"), { what: "hello" });
    ws.send(JSON.stringify({ seq: 7, action, data }));
    return await waitFor(() => got.find((m) => m.seq_reply === 7), { what: `reply to ${action}` });
  } finally {
    ws.close();
  }
}

function expectCleanFail(where: string, reply: Record<string, unknown>): Record<string, unknown> {
  expect(reply.status, `${where}: ${JSON.stringify(reply)}`).toBe("FAIL");
  expectClean(where, JSON.stringify(reply));
  return reply.error as Record<string, unknown>;
}

interface GrpcFailure {
  readonly code: string;
  readonly message: string;
  readonly details: string;
  readonly metadata: Record<string, string[]>;
}

/** A gRPC call expected to fail: what the caller can see of it (the status and its trailing metadata). */
async function grpcFailure(call: Promise<unknown>): Promise<GrpcFailure> {
  const e = (await call.then(
    () => {
      throw new Error("the call succeeded");
    },
    (x: unknown) => x,
  )) as { code: string; message: string; cause?: { details?: string; metadata?: { getMap(): Record<string, unknown> } } };
  const md = e.cause?.metadata?.getMap() ?? {};
  return {
    code: e.code,
    message: e.message,
    details: e.cause?.details ?? "",
    metadata: Object.fromEntries(Object.entries(md).map(([k, v]) => [k, [String(v)]])),
  };
}

function expectCleanGrpc(where: string, f: GrpcFailure): void {
  expectClean(where, `${f.message}\n${f.details}\n${JSON.stringify(f.metadata)}`);
}

const SQL_LIKE =
  "SELECT password_hash FROM accounts.users WHERE id = 1; see /srv/app/dist/post-write.js:42:7\n    at Object.write (/srv/app/dist/post-write.js:42:7)";

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
  alice = await newUser(url, "alice");
  const team = await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never);
  teamId = team.id;
  const ch = await alice.client.createChannel({ team_id: team.id, name: `c${Date.now()}`, display_name: "C", type: "O" } as never);
  channelId = ch.id;
  postId = (await alice.client.createPost({ channel_id: channelId, message: "hello" })).id;
  tableNames = (
    await execSql(
      stack.db.url,
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema IN ('posts', 'accounts') AND position('_' IN table_name) > 0",
    )
  ).map((r) => String(r.t));
  expect(tableNames).toContain("channel_members");
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe("database errors", () => {
  it("a violated constraint: a clean 500 with a request id; the detail in the gateway's and the service's logs", async () => {
    await execSql(stack.db.url, "ALTER TABLE posts.reactions ADD CONSTRAINT sb_test_no_boom CHECK (emoji_name <> 'boom')");
    try {
      const r = await rest("POST", "/api/v4/reactions", { user_id: alice.id, post_id: postId, emoji_name: "boom" });
      expectCleanRestError("reaction against a CHECK constraint", r, 500);
      expect(r.body.message).toBe("An internal error occurred.");
      await expectLoggedDetail(r.body.request_id, stack.posts, /sb_test_no_boom/);
    } finally {
      await execSql(stack.db.url, "ALTER TABLE posts.reactions DROP CONSTRAINT sb_test_no_boom");
    }
  });

  it("a column renamed under a query: clean on REST and on gRPC, with the request id in the status and its metadata", async () => {
    await execSql(stack.db.url, "ALTER TABLE posts.channels RENAME COLUMN purpose TO purpose_gone");
    try {
      const r = await rest("GET", `/api/v4/channels/${channelId}`);
      expectCleanRestError("get channel with a renamed column", r, 500);
      await expectLoggedDetail(r.body.request_id, stack.posts, /purpose/);

      const posts = createRpcClient(PostsService, { address: stack.addrs.posts, defaultDeadlineMs: 5_000, tls: testClientTls("posts") });
      try {
        const f = await grpcFailure(posts.getChannel({ channelId }, { token: alice.token }));
        expectCleanGrpc("gRPC GetChannel with a renamed column", f);
        expect(f.code).toBe("internal");
        const requestId = f.metadata[REQUEST_ID_KEY]?.[0];
        expect(requestId).toMatch(/^[a-z0-9]{26}$/);
        expect(f.details).toBe(`internal error (request id ${requestId})`);
        const line = await stack.posts.waitForLog((l) => l.request_id === requestId, 5_000);
        expect(JSON.stringify(line)).toMatch(/purpose/);
      } finally {
        posts.close();
      }
    } finally {
      await execSql(stack.db.url, "ALTER TABLE posts.channels RENAME COLUMN purpose_gone TO purpose");
    }
  });

  it("a trigger raising an error that reads like SQL, with a path and a stack, on every service's write", async () => {
    await execSql(
      stack.db.url,
      `CREATE FUNCTION public.sb_test_raise() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${SQL_LIKE.replace(/'/g, "''")}'; END $$`,
    );
    await execSql(stack.db.url, "CREATE TRIGGER sb_test_raise BEFORE INSERT ON posts.posts FOR EACH ROW EXECUTE FUNCTION public.sb_test_raise()");
    await execSql(stack.db.url, "CREATE TRIGGER sb_test_raise BEFORE INSERT ON accounts.sessions FOR EACH ROW EXECUTE FUNCTION public.sb_test_raise()");
    await execSql(stack.db.url, "CREATE TRIGGER sb_test_raise BEFORE INSERT ON accounts.users FOR EACH ROW EXECUTE FUNCTION public.sb_test_raise()");
    try {
      const post = await rest("POST", "/api/v4/posts", { channel_id: channelId, message: "raise" });
      expectCleanRestError("post against a raising trigger", post, 500);
      await expectLoggedDetail(post.body.request_id, stack.posts, /password_hash/);
      const login = await rest("POST", "/api/v4/users/login", { login_id: alice.username, password: "password-1" }, "");
      expectCleanRestError("login against a raising trigger", login, 500);
      await expectLoggedDetail(login.body.request_id, stack.accounts, /password_hash/);
      const signup = await rest("POST", "/api/v4/users", { username: `bob${Date.now()}`, email: `bob${Date.now()}@example.com`, password: "password-1" }, "");
      expectCleanRestError("sign-up against a raising trigger", signup, 500);

      const accounts = createRpcClient(AccountsService, { address: stack.addrs.accounts, defaultDeadlineMs: 5_000, tls: testClientTls("accounts") });
      try {
        const f = await grpcFailure(accounts.login({ loginId: alice.username, password: "password-1" }));
        expectCleanGrpc("gRPC Login against a raising trigger", f);
        expect(f.code).toBe("internal");
        expect(f.metadata[ERROR_ID_KEY]).toBeDefined();
      } finally {
        accounts.close();
      }
    } finally {
      for (const t of ["posts.posts", "accounts.sessions", "accounts.users"]) await execSql(stack.db.url, `DROP TRIGGER sb_test_raise ON ${t}`);
      await execSql(stack.db.url, "DROP FUNCTION public.sb_test_raise()");
    }
  });

  it("a unique violation the service does not expect: clean", async () => {
    await execSql(stack.db.url, "CREATE UNIQUE INDEX sb_test_one_message ON posts.posts (message) WHERE message = 'only once'");
    try {
      expect((await rest("POST", "/api/v4/posts", { channel_id: channelId, message: "only once" })).status).toBe(201);
      expectCleanRestError("a second post against a unique index", await rest("POST", "/api/v4/posts", { channel_id: channelId, message: "only once" }), 500);
    } finally {
      await execSql(stack.db.url, "DROP INDEX posts.sb_test_one_message");
    }
  });

  it("a connection dropped in the middle of a query: a clean 500, and the detail in the log", async () => {
    await execSql(stack.db.url, "CREATE FUNCTION public.sb_test_sleep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(5); RETURN NEW; END $$");
    await execSql(stack.db.url, "CREATE TRIGGER sb_test_sleep BEFORE INSERT ON posts.posts FOR EACH ROW EXECUTE FUNCTION public.sb_test_sleep()");
    try {
      const pending = rest("POST", "/api/v4/posts", { channel_id: channelId, message: "cut off" });
      // The post's statement is asleep in the trigger: cut its connection.
      await waitFor(
        async () =>
          (
            await execSql(
              stack.db.url,
              "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%INSERT INTO posts%' AND wait_event = 'PgSleep'",
            )
          ).length > 0,
        { timeoutMs: 5_000, intervalMs: 20, what: "the post's statement to be running" },
      );
      const r = await pending;
      expectCleanRestError("a post whose connection was cut", r, 500);
      await expectLoggedDetail(r.body.request_id, stack.posts, /terminat/i);
    } finally {
      await execSql(stack.db.url, "DROP TRIGGER sb_test_sleep ON posts.posts");
      await execSql(stack.db.url, "DROP FUNCTION public.sb_test_sleep()");
    }
  });

  it("every database connection dropped: whatever fails, fails clean, and the services recover", async () => {
    await execSql(stack.db.url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
    const calls = await Promise.all([
      rest("GET", `/api/v4/channels/${channelId}`),
      rest("GET", "/api/v4/users/me"),
      rest("POST", "/api/v4/posts", { channel_id: channelId, message: "after the drop" }),
      rest("POST", "/api/v4/users/login", { login_id: alice.username, password: "password-1" }, ""),
    ]);
    for (const [i, r] of calls.entries()) if (r.status >= 400) expectCleanRestError(`call ${String(i)} after the connections dropped`, r);
    await waitFor(async () => (await rest("GET", `/api/v4/channels/${channelId}`)).status === 200, { timeoutMs: 10_000, what: "posts to recover" });
  });
});

describe("bad input", () => {
  it("REST: malformed bodies, hostile ids, unknown routes, wrong types", async () => {
    const cases: [string, string, unknown][] = [
      ["POST", "/api/v4/posts", "{not json"],
      ["POST", "/api/v4/posts", { channel_id: "x'; DROP TABLE posts.posts; --", message: "m" }],
      ["POST", "/api/v4/posts", { channel_id: channelId, message: 42 }],
      ["POST", "/api/v4/posts", { channel_id: channelId, message: "x".repeat(20_000) }],
      ["GET", "/api/v4/channels/..%2F..%2Fetc%2Fpasswd", undefined],
      ["GET", "/api/v4/channels/aaaaaaaaaaaaaaaaaaaaaaaaa*", undefined],
      ["GET", `/api/v4/channels/${"b".repeat(26)}`, undefined],
      ["DELETE", `/api/v4/channels/${channelId}/members/${"c".repeat(26)}`, undefined],
      ["POST", "/api/v4/channels", { team_id: teamId, name: "", display_name: "", type: "Z" }],
      ["POST", "/api/v4/channels/direct", ["a", "b", "c"]],
      ["GET", "/api/v4/nowhere", undefined],
      ["POST", "/api/v4/users/login", { login_id: alice.username, password: "wrong" }],
      ["POST", "/api/v4/users", { username: "a b", email: "not-an-email", password: "" }],
      ["POST", "/api/v4/users", { username: alice.username, email: `${alice.username}@example.com`, password: "password-1" }],
      ["PUT", `/api/v4/users/${alice.id}/status`, { user_id: alice.id, status: "SELECT" }],
      ["POST", "/api/v4/users/status/ids", Array.from({ length: 2_000 }, () => alice.id)],
      ["POST", "/api/v4/teams", { name: "-", display_name: "", type: "X" }],
      ["POST", `/api/v4/teams/${teamId}/members`, { team_id: teamId, user_id: "e".repeat(26) }],
      ["DELETE", `/api/v4/users/${alice.id}/posts/${postId}/reactions/${"x".repeat(200)}`, undefined],
    ];
    for (const [method, path, body] of cases) expectCleanRestError(`${method} ${path}`, await rest(method, path, body));
  });

  it("WebSocket: FAIL replies to hostile data", async () => {
    expectCleanFail("user_typing with a wildcard channel", await wsRequest("user_typing", { channel_id: subjects.allEvents }));
    expectCleanFail("user_typing in a channel of nobody", await wsRequest("user_typing", { channel_id: "d".repeat(26) }));
    expectCleanFail("get_statuses_by_ids with hostile ids", await wsRequest("get_statuses_by_ids", { user_ids: ["*", "a.b"] }));
    expectCleanFail("user_update_active_status without a flag", await wsRequest("user_update_active_status", { user_is_active: "yes" }));
  });

  it("gRPC: INVALID_ARGUMENT with a clean message from every service", async () => {
    const posts = createRpcClient(PostsService, { address: stack.addrs.posts, defaultDeadlineMs: 5_000, tls: testClientTls("posts") });
    const accounts = createRpcClient(AccountsService, { address: stack.addrs.accounts, defaultDeadlineMs: 5_000, tls: testClientTls("accounts") });
    const presence = createRpcClient(PresenceService, { address: stack.addrs.presence, defaultDeadlineMs: 5_000, tls: testClientTls("presence") });
    const as = { token: alice.token };
    try {
      const failures: [string, GrpcFailure][] = [
        ["posts GetChannel *", await grpcFailure(posts.getChannel({ channelId: "*" }, as))],
        ["posts CreatePost", await grpcFailure(posts.createPost({ post: { channelId: "a.b", message: "m" } }, as))],
        ["posts AddChannelMember", await grpcFailure(posts.addChannelMember({ channelId, userId: " " }, as))],
        ["accounts GetUser", await grpcFailure(accounts.getUser({ userId: ">" }, as))],
        ["presence GetStatuses", await grpcFailure(presence.getStatuses({ userIds: ["a b"] }, as))],
      ];
      for (const [where, f] of failures) {
        expectCleanGrpc(where, f);
        expect(f.code, where).toBe("invalid_argument");
      }
    } finally {
      posts.close();
      accounts.close();
      presence.close();
    }
  });
});

describe("a service gone", () => {
  it("REST and WebSocket say the service is unavailable, without its address", async () => {
    await stack.presence.stop(5_000);
    const r = await rest("GET", `/api/v4/users/${alice.id}/status`);
    expectCleanRestError("status with presence gone", r);
    const fail = expectCleanFail("get_statuses with presence gone", await wsRequest("get_statuses", {}));
    expect(fail.status_code).toBeGreaterThanOrEqual(500);
  });
});

it("no error a client got in this file leaks anything (the sweep over all of them)", () => {
  expect(seen.length).toBeGreaterThan(20);
  const bad = seen.filter((s) => leaks(s.text).length > 0);
  expect(bad).toEqual([]);
});
