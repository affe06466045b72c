/**
 * What a test compares before and after a refused request to show that nothing was written:
 * per table, the row count and a hash of every row. An outbox is counted together with its
 * event log (the relay moves rows from one to the other in one statement), so the number of
 * events ever written is stable while the relay works.
 */
import pg from "pg";

export type DbFingerprint = Readonly<Record<string, string>>;

const IDENT = /^[a-z_][a-z0-9_]*$/;

export async function dbFingerprint(url: string, schema: string, tables: readonly string[]): Promise<DbFingerprint> {
  for (const t of [schema, ...tables]) if (!IDENT.test(t)) throw new Error(`dbFingerprint: not a plain identifier: ${t}`);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, string> = {};
    for (const t of tables) {
      const { rows } = await c.query<{ n: string; h: string }>(
        `SELECT count(*) AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${schema}.${t} x`,
      );
      out[t] = `${rows[0]!.n}:${rows[0]!.h}`;
    }
    const { rows } = await c.query<{ n: string }>(`SELECT (SELECT count(*) FROM ${schema}.outbox) + (SELECT count(*) FROM ${schema}.outbox_published) AS n`);
    out["outbox+outbox_published"] = rows[0]!.n;
    return out;
  } finally {
    await c.end();
  }
}
