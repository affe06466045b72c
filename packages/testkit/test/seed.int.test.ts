import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { formatKeks, generateKek } from "@switchboard/tokens";
import { CloseCode } from "@switchboard/bus";
import type WebSocket from "ws";
import {
  newClient4,
  newWebSocketClient,
  seedPopulation,
  seedUsers,
  SEED_PASSWORD,
  startStack,
  waitFor,
  type SeededUser,
  type Stack,
  type WebSocketClient,
} from "../src/index.js";

let stack: Stack;
let url: string;
const open: WebSocketClient[] = [];

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
});

afterAll(async () => {
  for (const c of open) c.close();
  await stack?.stop();
});

const wsUrl = (http: string) => `${http.replace(/^http/, "ws")}/api/v4/websocket`;

/** A stock client authenticated by the token; resolves with its hello and the sockets it opened. */
async function helloWith(token: string): Promise<{ client: WebSocketClient; hello: Record<string, unknown>; sockets: WebSocket[] }> {
  const sockets: WebSocket[] = [];
  const client = newWebSocketClient({ headers: { Authorization: `Bearer ${token}` }, sockets });
  open.push(client);
  const got: Record<string, unknown>[] = [];
  client.addMessageListener((m) => got.push(m));
  client.initialize(wsUrl(url), undefined, true);
  const hello = await waitFor(() => got.find((m) => m.event === "hello"), { what: "hello" });
  return { client, hello, sockets };
}

describe("seeded users", () => {
  let users: SeededUser[];
  beforeAll(async () => {
    users = await seedUsers({ databaseUrl: stack.db.url, count: 3 });
  });

  it("a seeded token works for REST and for the WebSocket", async () => {
    const c = newClient4(url);
    c.setToken(users[0]!.token);
    const me = await c.getMe();
    expect(me.id).toBe(users[0]!.id);
    expect(me.username).toBe(users[0]!.username);
    const { hello } = await helloWith(users[0]!.token);
    expect((hello.broadcast as Record<string, unknown>).user_id).toBe(users[0]!.id);
  });

  it("a seeded user logs in with the seed password, and only with it", async () => {
    const c = newClient4(url);
    const me = await c.login(users[1]!.username, SEED_PASSWORD);
    expect(me.id).toBe(users[1]!.id);
    await expect(newClient4(url).login(users[1]!.username, "not-the-password")).rejects.toMatchObject({ status_code: 401 });
  });

  it("accounts sees a seeded session: revoking it closes its socket and refuses its token", async () => {
    const u = users[2]!;
    const { sockets } = await helloWith(u.token);
    const closed = new Promise<number>((resolve) => sockets.at(-1)!.once("close", resolve));
    const c = newClient4(url);
    c.setToken(u.token);
    await c.logout();
    expect(await closed).toBe(CloseCode.SessionRevoked);
    await expect(c.getMe()).rejects.toMatchObject({ status_code: 401 });
  });

  it("hashes the password once per run: a thousand users cost one hash", async () => {
    const t0 = Date.now();
    const many = await seedUsers({ databaseUrl: stack.db.url, count: 1_000 });
    // One scrypt hash is ~250 ms here; one per user would take minutes.
    expect(Date.now() - t0).toBeLessThan(15_000);
    const db = new pg.Client({ connectionString: stack.db.url });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: number }>("SELECT count(DISTINCT password_hash)::int AS n FROM accounts.users WHERE id = ANY($1::text[])", [
        [...many, ...users].map((u) => u.id),
      ]);
      expect(rows[0]!.n).toBe(1);
    } finally {
      await db.end();
    }
  });

  it("refuses a bad count with a clear error", async () => {
    await expect(seedUsers({ databaseUrl: stack.db.url, count: -1 })).rejects.toThrow(/count/);
  });

  it("signs with the key accounts sealed, opened with the KEK the stack gave accounts, and no other", async () => {
    const [u] = await seedUsers({ databaseUrl: stack.db.url, count: 1, kek: stack.accountsKek });
    const c = newClient4(url);
    c.setToken(u!.token);
    expect((await c.getMe()).id).toBe(u!.id);
    await expect(seedUsers({ databaseUrl: stack.db.url, count: 1, kek: formatKeks([generateKek("test")]) })).rejects.toThrow(/KEK "test"/);
  });
});

describe("seeded population", () => {
  it("puts everyone in town-square and M members in each of K channels, through the posts API", async () => {
    const pop = await seedPopulation({ databaseUrl: stack.db.url, postsAddr: stack.addrs.posts, users: 60, channels: 3, membersPerChannel: 25 });
    expect(pop.users).toHaveLength(60);
    const admin = newClient4(url);
    admin.setToken(pop.admin.token);
    for (const ch of [pop.everyone, ...pop.channels]) {
      expect(ch.memberIds).toHaveLength(ch === pop.everyone ? 61 : 26);
      const members = await admin.getChannelMembers(ch.id, 0, 100);
      expect(new Set(members.map((m) => m.user_id))).toEqual(new Set(ch.memberIds));
    }
    // A member's own token sees the population from the user's side.
    const u = newClient4(url);
    u.setToken(pop.users[0]!.token);
    const mine = await u.getMyChannels(pop.teamId);
    expect(mine.map((c) => c.id)).toEqual(expect.arrayContaining([pop.everyone.id, pop.channels[0]!.id]));
  });
});
