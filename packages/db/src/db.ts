/**
 * One database interface over two drivers: `pg` (a real PostgreSQL server, when a URL is
 * given) and PGlite (PostgreSQL compiled to WebAssembly, in-process, for `make dev`).
 * Same SQL, same migrations. Every service keeps its tables in its own schema.
 */
import { openPg } from "./driver-pg.js";
import { openPglite } from "./driver-pglite.js";
import type { Db, DbOptions } from "./types.js";

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openDatabase(o: DbOptions): Promise<Db> {
  if (!SCHEMA_RE.test(o.schema)) throw new Error(`invalid schema name ${o.schema}`);
  return o.url ? openPg(o) : openPglite(o);
}
