/**
 * Users and sessions written straight into the accounts database, for tests and benches that
 * need more users than signup and login can make (each costs a scrypt hash, ~250 ms of CPU).
 * Test and bench tooling only: it needs the database URL, so nothing reaches it over the
 * network. The accounts service must have started once on that database (its tables and its
 * first signing key exist from then on).
 *
 * What it writes is what accounts writes: a password hash of the shared format (one hash per
 * password per process, so a seeded user can also log in with it), a session row per user,
 * and a token signed with accounts' current signing key for that session. Accounts sees these
 * sessions as its own: it can revoke them, and verifiers refuse their tokens afterwards.
 *
 * The signing key is stored wrapped by accounts' KEK: seeding opens it with the KEK the test
 * gave accounts (by default the process's test KEK, test-kek.ts), once per call, so seeding
 * 100k users costs the same as before, one signature per user.
 */
import pg from "pg";
import { newId } from "@switchboard/model";
import { createAesGcmKeyWrapper, openSigningKey, parseKeks, hashPassword, signToken, type PrivateSigningKey } from "@switchboard/tokens";
import { testKek } from "../test-kek.js";

/** The password of every seeded user unless the caller picks another. */
export const SEED_PASSWORD = "seeded-password-1";

const ACCOUNTS_SCHEMA = "accounts";
const DAY = 24 * 60 * 60 * 1000;

export interface SeedUsersOptions {
  /** postgres:// URL of the database accounts runs on. */
  readonly databaseUrl: string;
  readonly count: number;
  readonly password?: string;
  /** Usernames are `<prefix><i>`; default a random prefix, so seeds into one database never collide. */
  readonly usernamePrefix?: string;
  /** Default "system_user"; "system_admin system_user" for an admin. */
  readonly roles?: string;
  /** Session (and token) lifetime; default a day, capped by the signing key's own lifetime. */
  readonly sessionLengthMs?: number;
  /** The KEK accounts runs with, in SB_ACCOUNTS_KEK's form (default the process's test KEK). */
  readonly kek?: string;
  /** Rows per INSERT (default 2,000). */
  readonly batchSize?: number;
}

export interface SeededUser {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  readonly password: string;
  readonly sessionId: string;
  /** A session token as login would return it (Bearer for REST, authentication_challenge for WebSocket). */
  readonly token: string;
}

const hashes = new Map<string, Promise<string>>();

/** The hash of a password, computed once per process: seeding N users costs one scrypt. */
function seedHash(password: string): Promise<string> {
  let h = hashes.get(password);
  if (!h) {
    h = hashPassword(password);
    hashes.set(password, h);
  }
  return h;
}

interface KeyRow {
  kid: string;
  private_key: Uint8Array;
  public_key: Uint8Array;
  kek_id: string | null;
  expires_at: string;
}

/** The key accounts signs new tokens with now (its newest key not yet retired), opened with the KEK. */
async function currentSigningKey(q: pg.Pool, now: number, kek: string): Promise<{ key: PrivateSigningKey; expiresAt: number }> {
  const { rows } = await q.query<KeyRow>(
    `SELECT kid, private_key, public_key, kek_id, expires_at FROM ${ACCOUNTS_SCHEMA}.signing_keys WHERE retire_at > $1 AND created_at <= $1 ORDER BY created_at DESC LIMIT 1`,
    [now],
  );
  const r = rows[0];
  if (!r) throw new Error("no current signing key in the accounts database: start the accounts service on it first");
  if (r.kek_id === null) throw new Error(`signing key ${r.kid} is not sealed: start this build's accounts service on the database first`);
  const sealed = { kid: r.kid, publicKey: new Uint8Array(r.public_key), kekId: r.kek_id, sealed: new Uint8Array(r.private_key) };
  return { key: await openSigningKey(createAesGcmKeyWrapper(parseKeks(kek)), sealed), expiresAt: Number(r.expires_at) };
}

/** Opens a small pool on the accounts database, for seeding. */
function openPool(databaseUrl: string): pg.Pool {
  return new pg.Pool({ connectionString: databaseUrl, max: 4, connectionTimeoutMillis: 10_000 });
}

/**
 * Writes `count` users with a live session each and returns them with their tokens. Batched:
 * one multi-row INSERT per batch for users and one for sessions, a few batches at a time.
 */
export async function seedUsers(o: SeedUsersOptions): Promise<SeededUser[]> {
  if (!Number.isSafeInteger(o.count) || o.count < 0) throw new Error(`seedUsers: count must be a non-negative integer, got ${String(o.count)}`);
  const password = o.password ?? SEED_PASSWORD;
  const prefix = o.usernamePrefix ?? `seed${newId().slice(0, 6)}x`;
  if (!/^[a-z][a-z0-9._-]*$/.test(prefix)) throw new Error(`seedUsers: invalid username prefix ${prefix}`);
  const roles = o.roles ?? "system_user";
  const batchSize = o.batchSize ?? 2_000;
  const pool = openPool(o.databaseUrl);
  try {
    const now = Date.now();
    const [passwordHash, { key, expiresAt: keyExpiresAt }] = await Promise.all([seedHash(password), currentSigningKey(pool, now, o.kek ?? testKek())]);
    const exp = Math.min(now + (o.sessionLengthMs ?? DAY), keyExpiresAt);
    const users: SeededUser[] = new Array<SeededUser>(o.count);
    for (let i = 0; i < o.count; i++) {
      const id = newId();
      const sessionId = newId();
      const username = `${prefix}${String(i)}`;
      users[i] = {
        id,
        username,
        email: `${username}@example.com`,
        password,
        sessionId,
        token: signToken({ uid: id, sid: sessionId, roles, iat: now, exp }, key),
      };
    }
    const batches: SeededUser[][] = [];
    for (let i = 0; i < users.length; i += batchSize) batches.push(users.slice(i, i + batchSize));
    let next = 0;
    const worker = async () => {
      for (let b = next++; b < batches.length; b = next++) await insertBatch(pool, batches[b]!, { passwordHash, roles, now, exp });
    };
    await Promise.all([worker(), worker(), worker()]);
    return users;
  } finally {
    await pool.end();
  }
}

async function insertBatch(pool: pg.Pool, users: readonly SeededUser[], o: { passwordHash: string; roles: string; now: number; exp: number }): Promise<void> {
  const ids = users.map((u) => u.id);
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    // unnest of arrays: one statement and four parameters whatever the batch size.
    await client.query(
      `INSERT INTO ${ACCOUNTS_SCHEMA}.users (id, create_at, update_at, username, email, password_hash, roles, last_password_update, notify_props)
       SELECT u.id, $6, $6, u.username, u.email, $4, $5, $6, jsonb_build_object('mention_keys', u.username || ',@' || u.username)
       FROM unnest($1::text[], $2::text[], $3::text[]) AS u (id, username, email)`,
      [ids, users.map((u) => u.username), users.map((u) => u.email), o.passwordHash, o.roles, o.now],
    );
    await client.query(
      `INSERT INTO ${ACCOUNTS_SCHEMA}.sessions (id, user_id, create_at, expires_at, last_activity_at, roles)
       SELECT s.id, s.user_id, $3, $4, $3, $5 FROM unnest($1::text[], $2::text[]) AS s (id, user_id)`,
      [users.map((u) => u.sessionId), ids, o.now, o.exp, o.roles],
    );
    await client.query("COMMIT");
  } catch (e: unknown) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
