import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { abortable } from "./abortable.js";
import type { Db, DbOptions, QueryOptions, Queryable, QueryResult } from "./types.js";

export async function openPglite(o: DbOptions): Promise<Db> {
  const dataDir = o.dataDir && o.dataDir !== "memory://" ? o.dataDir : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${o.schema}; SET search_path TO ${o.schema};`);

  // PGlite runs in this process and cannot interrupt a statement: an aborted signal only stops
  // the caller waiting (a transaction's next statement then fails, and it rolls back).
  const wrap = (q: Pick<PGlite, "query" | "exec">, txSignal?: AbortSignal): Queryable => ({
    async query<R>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<R>> {
      const signal = opts?.signal ?? txSignal;
      if (signal?.aborted) throw signal.reason as Error;
      const r = await abortable(q.query<R>(sql, params as unknown[] | undefined), signal);
      return { rows: r.rows, rowCount: Math.max(r.affectedRows ?? 0, r.rows.length) };
    },
    async exec(sql: string): Promise<void> {
      await q.exec(sql);
    },
  });
  let closed = false;

  return {
    kind: "pglite",
    ...wrap(db),
    // PGlite runs one statement at a time; a transaction holds it exclusively.
    tx: (fn, opts) =>
      abortable(
        db.transaction((t) => fn(wrap(t, opts?.signal))),
        opts?.signal,
      ),
    session: (fn) => fn(wrap(db)),
    async listen(channel, onNotify) {
      const unlisten = await db.listen(channel, onNotify);
      return async () => {
        if (!closed) await unlisten();
      };
    },
    async ping() {
      return !closed;
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}
