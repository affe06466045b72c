/**
 * Signing keys at rest: the database row holds the private key wrapped by the KEK, never in
 * clear. Rows an older version stored in clear are sealed at start, tokens they signed still
 * verify, a KEK rotation re-wraps every key, and a wrong or missing KEK stops the start with
 * an error that says which KEK to fix.
 */
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountsService } from "@switchboard/proto/accounts";
import { migrate, openDatabase, type Db } from "@switchboard/db";
import { createRpcClient, type AccountsClient } from "@switchboard/rpc";
import { silentLogger } from "@switchboard/log";
import {
  createTestDatabase,
  rpcServerEnv,
  sharedNatsServer,
  spawnDeployable,
  deployableTestEnv,
  type NatsServer,
  type TestDatabase,
  testClientTls,
} from "@switchboard/testkit";
import {
  createKeyRing,
  createRevocationSet,
  createSessionVerifier,
  formatKeks,
  generateKek,
  generateSigningKey,
  signToken,
  TokenError,
  type Kek,
} from "@switchboard/tokens";
import { loadAccountsConfig, startAccountsApp, type AccountsApp } from "../src/app.js";
import { migrations, SCHEMA } from "../src/migrations.js";

const HOUR = 3_600_000;
const uid = "u".repeat(26);

interface Row {
  kid: string;
  private_key: Buffer;
  public_key: Buffer;
  kek_id: string | null;
}

let nats: NatsServer;
let db: TestDatabase;
let sql: Db;
const kek1 = generateKek("k1");
const kek2 = generateKek("k2");

function start(keks: readonly Kek[], kekEnv: Record<string, string> = { SB_ACCOUNTS_KEK: formatKeks(keks) }): Promise<AccountsApp> {
  const { config } = loadAccountsConfig({
    ...nats.env("accounts"),
    ...deployableTestEnv("accounts"),
    DATABASE_URL: db.url,
    SB_ACCOUNTS_DB_POOL_SIZE: "2",
    SB_ACCOUNTS_GRPC_PORT: "0",
    SB_ACCOUNTS_OPS_PORT: "0",
    ...kekEnv,
    ...rpcServerEnv(),
  });
  return startAccountsApp(config, { log: silentLogger });
}

async function rows(): Promise<Row[]> {
  return (await sql.query<Row>("SELECT kid, private_key, public_key, kek_id FROM signing_keys ORDER BY created_at")).rows.map((r) => ({
    ...r,
    private_key: Buffer.from(r.private_key),
    public_key: Buffer.from(r.public_key),
  }));
}

/** What a verifier holding accounts' published keys says of a token. */
async function verdict(client: AccountsClient, token: string): Promise<string> {
  const ring = createKeyRing();
  ring.replace((await client.listSigningKeys({})).keys.map((k) => ({ kid: k.kid, publicKey: k.publicKey, expiresAt: Number(k.expiresAt) })));
  try {
    await createSessionVerifier({ keys: ring, revocations: createRevocationSet(), refreshKeys: async () => {} }).verify(token);
    return "valid";
  } catch (e: unknown) {
    return e instanceof TokenError ? e.reason : String(e);
  }
}

async function startError(keks: readonly Kek[]): Promise<string> {
  try {
    const app = await start(keks);
    await app.stop();
    return "started";
  } catch (e: unknown) {
    return e instanceof Error ? e.message : String(e);
  }
}

beforeAll(async () => {
  nats = await sharedNatsServer();
  db = await createTestDatabase();
  sql = await openDatabase({ url: db.url, schema: SCHEMA, poolSize: 1 });
});

afterAll(async () => {
  await sql?.close();
  await db?.drop();
  await nats?.stop();
});

describe("signing keys at rest", () => {
  const legacy = generateSigningKey("legacy-key");
  const now = Date.now();
  const oldToken = signToken({ uid, sid: "s".repeat(26), roles: "system_user", iat: now - 1_000, exp: now + HOUR }, legacy);

  it("seals a key an older version stored in clear, and the tokens it signed still verify", async () => {
    // The database as the version before this one left it: migrations up to 0003, the key in clear.
    const before = await openDatabase({ url: db.url, schema: SCHEMA, poolSize: 1 });
    await migrate(before, SCHEMA, migrations.slice(0, 3));
    await before.query("INSERT INTO signing_keys (kid, private_key, public_key, created_at, retire_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6)", [
      legacy.kid,
      legacy.privateKeyDer,
      legacy.publicKey,
      now - 60_000,
      now + HOUR,
      now + 3 * HOUR,
    ]);
    await before.close();

    const app = await start([kek1]);
    const client = createRpcClient(AccountsService, { address: `127.0.0.1:${app.grpcPort}`, defaultDeadlineMs: 10_000, tls: testClientTls("accounts") });
    try {
      const [r] = await rows();
      expect(r!.kid).toBe(legacy.kid);
      expect(r!.kek_id).toBe("k1");
      expect(r!.private_key.includes(Buffer.from(legacy.privateKeyDer))).toBe(false);
      expect(r!.private_key.includes(Buffer.from(legacy.privateKeyDer.slice(-32)))).toBe(false);
      expect(await verdict(client, oldToken)).toBe("valid");
      // The sealed key still signs: a login now is signed by the same key, and verifies.
      await client.createUser({ username: "alice", email: "alice@example.com", password: "password-1" });
      const login = await client.login({ loginId: "alice", password: "password-1" });
      expect((JSON.parse(Buffer.from(login.token.split(".")[0]!, "base64url").toString()) as { kid: string }).kid).toBe(legacy.kid);
      expect(await verdict(client, login.token)).toBe("valid");
    } finally {
      client.close();
      await app.stop();
    }
  });

  it("stores no usable key: the row's bytes sign nothing a verifier accepts", async () => {
    const app = await start([kek1]);
    const client = createRpcClient(AccountsService, { address: `127.0.0.1:${app.grpcPort}`, defaultDeadlineMs: 10_000, tls: testClientTls("accounts") });
    try {
      for (const r of await rows()) {
        expect(r.kek_id).toBe("k1");
        // Not a private key as stored...
        expect(() => createPrivateKey({ key: r.private_key, format: "der", type: "pkcs8" })).toThrow();
        // ...nor any 32-byte window of it used as an Ed25519 seed.
        for (let i = 0; i + 32 <= r.private_key.length; i++) {
          const seedDer = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), r.private_key.subarray(i, i + 32)]);
          const forged = signToken(
            { uid, sid: "f".repeat(26), roles: "system_admin system_user", iat: Date.now(), exp: Date.now() + HOUR },
            {
              kid: r.kid,
              privateKeyDer: new Uint8Array(seedDer),
              publicKey: new Uint8Array(r.public_key),
            },
          );
          expect(await verdict(client, forged)).toBe("bad_signature");
        }
      }
      // The same forgery with the real key is accepted: the check above can tell.
      const real = signToken({ uid, sid: "f".repeat(26), roles: "system_user", iat: Date.now(), exp: Date.now() + HOUR }, legacy);
      expect(await verdict(client, real)).toBe("valid");
    } finally {
      client.close();
      await app.stop();
    }
  });

  it("refuses to start with a wrong KEK or without the KEK the keys are wrapped with, and says which", async () => {
    expect(await startError([generateKek("k1")])).toMatch(
      /signing key legacy-key cannot be unwrapped: .*KEK "k1" that is not the one this key was wrapped with/,
    );
    expect(await startError([kek2])).toMatch(/signing key legacy-key cannot be unwrapped: KEK "k1" is not configured; add KEK "k1" to SB_ACCOUNTS_KEK/);
    expect(new Set((await rows()).map((r) => r.kek_id))).toEqual(new Set(["k1"]));
    // The process, as deployed: it exits before "ready", the reason in its log.
    const spawned = spawnDeployable("accounts", {
      ...nats.env("accounts"),
      ...deployableTestEnv("accounts"),
      DATABASE_URL: db.url,
      SB_ACCOUNTS_GRPC_PORT: "0",
      SB_ACCOUNTS_OPS_PORT: "0",
      SB_ACCOUNTS_KEK: formatKeks([generateKek("k1")]),
    });
    await expect(spawned).rejects.toThrow(/process exited .*signing key legacy-key cannot be unwrapped/s);
  });

  it("re-wraps every key under a new active KEK at start (KEK rotation), after which the old KEK can go", async () => {
    const app = await start([kek2, kek1]);
    await app.stop();
    const after = await rows();
    // The legacy key and its successor (published ahead, as the legacy key retires within the hour).
    expect(after.map((r) => r.kek_id)).toEqual(["k2", "k2"]);
    expect(after[0]!.private_key.includes(Buffer.from(legacy.privateKeyDer.slice(-32)))).toBe(false);

    // From a mounted Secret file this time.
    const dir = mkdtempSync(join(tmpdir(), "sb-kek-"));
    writeFileSync(join(dir, "kek"), `${formatKeks([kek2])}\n`, { mode: 0o600 });
    const app2 = await start([], { SB_ACCOUNTS_KEK_FILE: join(dir, "kek") }).finally(() => rmSync(dir, { recursive: true, force: true }));
    const client = createRpcClient(AccountsService, { address: `127.0.0.1:${app2.grpcPort}`, defaultDeadlineMs: 10_000, tls: testClientTls("accounts") });
    try {
      expect(await verdict(client, oldToken)).toBe("valid");
      const login = await client.login({ loginId: "alice", password: "password-1" });
      expect(await verdict(client, login.token)).toBe("valid");
    } finally {
      client.close();
      await app2.stop();
    }
    expect(await startError([kek1])).toMatch(/KEK "k2" is not configured/);
  });
});

describe("accounts' configuration", () => {
  it("requires a KEK and refuses a malformed one without echoing it", () => {
    const base = { SB_NATS_URL: "nats://127.0.0.1:1", DATABASE_URL: "" };
    expect(() => loadAccountsConfig(base)).toThrow(/SB_ACCOUNTS_KEK or SB_ACCOUNTS_KEK_FILE is required/);
    expect(() => loadAccountsConfig({ ...base, SB_ACCOUNTS_KEK: "k1:c2hvcnQ=" })).toThrow(/SB_ACCOUNTS_KEK KEK "k1" must be 32 bytes/);
    expect(() => loadAccountsConfig({ ...base, SB_ACCOUNTS_KEK: formatKeks([kek1]), SB_ACCOUNTS_KEK_FILE: "/x" })).toThrow(/only one of/);
  });
});
