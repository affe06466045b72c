import type { Db } from "./types.js";

export interface Migration {
  /** Ordered, never renamed: "0001_init". */
  readonly id: string;
  readonly sql: string;
}

/**
 * Applies the migrations not applied yet, each in its own transaction, under an advisory
 * lock so replicas starting together apply each one exactly once. Idempotent.
 */
export async function migrate(db: Db, schema: string, migrations: readonly Migration[]): Promise<string[]> {
  const ids = migrations.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw new Error("duplicate migration id");
  if ([...ids].sort().join() !== ids.join()) throw new Error("migrations must be listed in id order");
  return db.session(async (s) => {
    // A lock key per schema: hashtext is stable across servers of one PostgreSQL version.
    await s.query("SELECT pg_advisory_lock(hashtext($1))", [`sb_migrate_${schema}`]);
    try {
      await s.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (id text PRIMARY KEY, applied_at bigint NOT NULL)`);
      const done = new Set((await s.query<{ id: string }>(`SELECT id FROM ${schema}.schema_migrations`)).rows.map((r) => r.id));
      const applied: string[] = [];
      for (const m of migrations) {
        if (done.has(m.id)) continue;
        await s.query("BEGIN");
        try {
          await s.query(`SET LOCAL search_path TO ${schema}`);
          await s.exec(m.sql);
          await s.query(`INSERT INTO ${schema}.schema_migrations (id, applied_at) VALUES ($1, $2)`, [m.id, Date.now()]);
          await s.query("COMMIT");
        } catch (e: unknown) {
          await s.query("ROLLBACK").catch(() => undefined);
          throw new Error(`migration ${m.id} failed`, { cause: e });
        }
        applied.push(m.id);
      }
      return applied;
    } finally {
      await s.query("SELECT pg_advisory_unlock(hashtext($1))", [`sb_migrate_${schema}`]);
    }
  });
}
