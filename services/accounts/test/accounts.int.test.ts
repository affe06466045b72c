import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountsService } from "@switchboard/proto/accounts";
import { connectBus, decodeEvent, subjects, type Bus } from "@switchboard/bus";
import { createRpcClient, DEFAULT_RPC_SERVER_TRANSPORT, type AccountsClient } from "@switchboard/rpc";
import { silentLogger } from "@switchboard/log";
import { AppError } from "@switchboard/model";
import {
  createTestDatabase,
  rpcServerEnv,
  sharedNatsServer,
  testKek,
  waitFor,
  deployableTestEnv,
  testClientTls,
  type NatsServer,
  type TestDatabase,
} from "@switchboard/testkit";
import { createKeyRing, createRevocationSet, createSessionVerifier, generateSigningKey, signToken } from "@switchboard/tokens";
import { loadAccountsConfig, startAccountsApp, type AccountsApp } from "../src/app.js";

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e: unknown) {
    return e instanceof AppError ? e.code : `other: ${String(e)}`;
  }
}

describe.each(["postgres", "pglite"] as const)("accounts service on %s", (driver) => {
  let nats: NatsServer;
  let pg: TestDatabase | undefined;
  let app: AccountsApp;
  let client: AccountsClient;
  let bus: Bus;

  beforeAll(async () => {
    nats = await sharedNatsServer();
    if (driver === "postgres") pg = await createTestDatabase();
    const { config } = loadAccountsConfig({
      ...nats.env("accounts"),
      DATABASE_URL: pg?.url ?? "",
      SB_ACCOUNTS_PGLITE_DIR: "memory://",
      SB_ACCOUNTS_GRPC_PORT: "0",
      SB_ACCOUNTS_OPS_PORT: "0",
      SB_ACCOUNTS_KEK: testKek(),
      ...rpcServerEnv(),
      ...deployableTestEnv("accounts"),
    });
    app = await startAccountsApp(config, { log: silentLogger });
    client = createRpcClient(AccountsService, { address: `127.0.0.1:${app.grpcPort}`, defaultDeadlineMs: 10_000, tls: testClientTls("accounts") });
    bus = await connectBus({ ...nats.as("test"), name: "test" });
  });

  afterAll(async () => {
    client?.close();
    await bus?.close();
    await app?.stop();
    await pg?.drop();
    await nats?.stop();
  });

  it("serves on the gRPC server implementation the test run asks for", () => {
    expect(app.grpcServer).toBe(process.env.SB_RPC_SERVER ?? DEFAULT_RPC_SERVER_TRANSPORT);
  });

  it("makes the first user a system admin and later ones plain users", async () => {
    const a = await client.createUser({ username: "alice", email: "alice@example.com", password: "password-1" });
    const b = await client.createUser({ username: "Bob", email: "bob@example.com", password: "password-2" });
    expect(a.user?.roles).toBe("system_admin system_user");
    expect(b.user?.roles).toBe("system_user");
    expect(b.user?.username).toBe("bob");
    expect(a.user?.id).toMatch(/^[a-z0-9]{26}$/);
  });

  it("logs in and the token verifies offline with the published keys", async () => {
    const r = await client.login({ loginId: "ALICE@example.com", password: "password-1" });
    const keys = (await client.listSigningKeys({})).keys;
    const ring = createKeyRing();
    ring.replace(keys.map((k) => ({ kid: k.kid, publicKey: k.publicKey, expiresAt: Number(k.expiresAt) })));
    const verifier = createSessionVerifier({ keys: ring, revocations: createRevocationSet(), refreshKeys: async () => {} });
    const claims = await verifier.verify(r.token);
    expect(claims.uid).toBe(r.user?.id);
    expect(claims.sid).toBe(r.session?.id);
    expect(claims.roles).toContain("system_admin");
    expect((await client.getUser({ userId: r.user!.id }, { token: r.token })).user?.username).toBe("alice");
  });

  it("refuses wrong passwords, tampered tokens and tokens of another key", async () => {
    expect(await code(client.login({ loginId: "alice", password: "nope-nope" }))).toBe("unauthenticated");
    expect(await code(client.login({ loginId: "nobody", password: "password-1" }))).toBe("unauthenticated");
    const r = await client.login({ loginId: "bob", password: "password-2" });
    const [h, p, s] = r.token.split(".");
    const body = JSON.parse(Buffer.from(p!, "base64url").toString()) as { roles: string };
    body.roles = "system_admin system_user";
    const tampered = `${h}.${Buffer.from(JSON.stringify(body)).toString("base64url")}.${s}`;
    expect(await code(client.getUser({ userId: r.user!.id }, { token: tampered }))).toBe("unauthenticated");
    const now = Date.now();
    const forged = signToken({ uid: r.user!.id, sid: r.session!.id, roles: "system_admin", iat: now, exp: now + 60_000 }, generateSigningKey("evil"));
    expect(await code(client.getUser({ userId: r.user!.id }, { token: forged }))).toBe("unauthenticated");
    expect(await code(client.getUser({ userId: r.user!.id }))).toBe("unauthenticated");
  });

  it("publishes a revocation on the control subject and refuses the session afterwards", async () => {
    const r = await client.login({ loginId: "bob", password: "password-2" });
    const seen: Record<string, unknown>[] = [];
    const sub = bus.subscribe(subjects.allSessionControl, (m) =>
      seen.push(JSON.parse(Buffer.from(decodeEvent(m.data).data).toString()) as Record<string, unknown>),
    );
    await bus.flush();
    await client.revokeSession({ sessionId: r.session!.id }, { token: r.token });
    await waitFor(() => seen.some((d) => d.session_id === r.session!.id), { what: `revocation on ${subjects.allSessionControl}` });
    sub.unsubscribe();
    expect(await code(client.getUser({ userId: r.user!.id }, { token: r.token }))).toBe("unauthenticated");
    const live = await client.listRevocations({});
    expect(live.revocations.map((x) => x.sessionId)).toContain(r.session!.id);
    // Verifiers that learn of it refuse it offline too.
    const ring = createKeyRing();
    ring.replace((await client.listSigningKeys({})).keys.map((k) => ({ kid: k.kid, publicKey: k.publicKey, expiresAt: Number(k.expiresAt) })));
    const revocations = createRevocationSet();
    for (const x of live.revocations) revocations.add(x.sessionId, Number(x.expiresAt));
    const verifier = createSessionVerifier({ keys: ring, revocations, refreshKeys: async () => {} });
    await expect(verifier.verify(r.token)).rejects.toMatchObject({ reason: "revoked" });
  });

  it("answers bad input with clear errors and writes nothing", async () => {
    const bad = [
      { username: "1abc", email: "x@example.com", password: "password-1" },
      { username: "all", email: "x@example.com", password: "password-1" },
      { username: "carol", email: "not-an-email", password: "password-1" },
      { username: "carol", email: "carol@example.com", password: "short" },
      { username: "a*b", email: "carol@example.com", password: "password-1" },
    ];
    for (const u of bad) expect(await code(client.createUser(u))).toBe("invalid_argument");
    expect(await code(client.createUser({ username: "alice", email: "other@example.com", password: "password-1" }))).toBe("already_exists");
    expect(await code(client.createUser({ username: "alice2", email: "ALICE@example.com", password: "password-1" }))).toBe("already_exists");
    const admin = await client.login({ loginId: "alice", password: "password-1" });
    expect(await code(client.getUser({ userId: "not-an-id" }, { token: admin.token }))).toBe("invalid_argument");
    expect(await code(client.getUser({ userId: "a".repeat(26) }, { token: admin.token }))).toBe("not_found");
    expect(await code(client.getUsers({ userIds: Array.from({ length: 1001 }, () => "a".repeat(26)) }, { token: admin.token }))).toBe("invalid_argument");
    expect(await code(client.createUser({ username: "huge", email: "h@example.com", password: "x".repeat(5 * 1024 * 1024) }))).toBe("resource_exhausted");
    expect(await code(client.getUserByUsername({ username: "carol" }, { token: admin.token }))).toBe("not_found");
  });
});
