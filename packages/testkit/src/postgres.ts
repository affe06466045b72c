import { randomBytes } from "node:crypto";
import pg from "pg";

export interface TestDatabase {
  /** postgres:// URL of a fresh, empty database of its own. */
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** The server tests use: TEST_POSTGRES_URL, or the local server on 127.0.0.1:5432 (trust auth). */
function adminUrl(): string {
  return process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

/** Creates a database with a unique name on the test PostgreSQL server. */
export async function createTestDatabase(prefix = "sb_test"): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl(), connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (e: unknown) {
    throw new Error(`PostgreSQL is not reachable at ${adminUrl()} (set TEST_POSTGRES_URL): ${String(e)}`, { cause: e });
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * Runs one statement on a database as its owner and returns the rows: for tests that break a
 * database on purpose (a renamed column, a constraint, a trigger that raises) and mend it.
 */
export async function execSql(databaseUrl: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await c.connect();
  try {
    return (await c.query<Record<string, unknown>>(sql)).rows;
  } finally {
    await c.end();
  }
}

/** The number of rows of each table (schema-qualified names, e.g. accounts.preferences) in a test database. */
export async function rowCounts(url: string, tables: readonly string[]): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, number> = {};
    for (const t of tables) {
      if (!/^[a-z_]+\.[a-z_]+$/.test(t)) throw new Error(`not a schema-qualified table name: ${t}`);
      out[t] = (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`)).rows[0]!.n;
    }
    return out;
  } finally {
    await c.end();
  }
}
