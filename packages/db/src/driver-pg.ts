import { createHash } from "node:crypto";
import pg from "pg";
import { abortable } from "./abortable.js";
import { cancelBackend, type Backend } from "./pg-cancel.js";
import type { Db, DbOptions, QueryOptions, Queryable, QueryResult } from "./types.js";

// int8 as JS numbers: every int8 here is a count or a Unix-ms time, far below 2^53.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== "binary"
      ? (v: string) => Number(v)
      : (pg.types.getTypeParser(oid, format as "text") as (v: string) => unknown)) as typeof pg.types.getTypeParser,
};

/** Sessions held at once: the relay's, plus migrations at start. */
const SESSION_CONNECTIONS = 2;

const statementNames = new Map<string, string>();

/** A prepared statement's name, derived from its text (pg keeps one per name per connection). */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `sb_${createHash("sha1").update(sql).digest("hex").slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return name;
}

export async function openPg(o: DbOptions): Promise<Db> {
  const poolOf = (max: number): pg.Pool => {
    const p = new pg.Pool({
      connectionString: o.url,
      max,
      types,
      options: `-c search_path=${o.schema}${o.statementTimeoutMs ? ` -c statement_timeout=${o.statementTimeoutMs}` : ""}`,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
    });
    p.on("error", (e) => o.onError?.(e));
    return p;
  };
  // Calls and transactions share `pool`. Sessions (migrations, the outbox relay's leadership,
  // held for the process's life) get connections of their own, so a pool of n still serves
  // n calls at once, and a pool of 1 is not taken for good by the relay.
  const pool = poolOf(o.poolSize ?? 10);
  const sessions = poolOf(SESSION_CONNECTIONS);
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${o.schema}`).catch((e: unknown) => {
    // Concurrent CREATE SCHEMA IF NOT EXISTS from two processes can still race on the catalog.
    if ((e as { code?: string }).code !== "23505") throw e;
  });

  const run = async <R>(
    c: pg.PoolClient | pg.Pool,
    sql: string,
    params: readonly unknown[] | undefined,
    prepare: boolean | undefined,
  ): Promise<QueryResult<R>> => {
    const values = params as unknown[] | undefined;
    const r = await (prepare ? c.query({ name: statementName(sql), text: sql, ...(values ? { values } : {}) }) : c.query(sql, values));
    return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
  };

  /**
   * A query on one connection that `signal` cancels: PostgreSQL gets a cancel request for the
   * connection's backend, and the query fails with the signal's reason (not 57014).
   */
  const runCancellable = async <R>(
    c: pg.PoolClient,
    sql: string,
    params: readonly unknown[] | undefined,
    o: QueryOptions,
    signal: AbortSignal,
  ): Promise<QueryResult<R>> => {
    if (signal.aborted) throw signal.reason as Error;
    const onAbort = (): void => cancelBackend(c as unknown as Backend);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await run<R>(c, sql, params, o.prepare);
    } catch (e: unknown) {
      throw signal.aborted ? (signal.reason as Error) : e;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  };

  /** `c`'s queries; on a connection of its own (a transaction's), `txSignal` cancels every one. */
  const wrap = (c: pg.PoolClient | pg.Pool, txSignal?: AbortSignal): Queryable => ({
    async query<R>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<R>> {
      const signal = opts?.signal ?? txSignal;
      if (signal === undefined) return run<R>(c, sql, params, opts?.prepare);
      if (c instanceof pg.Pool) return withClient((client) => runCancellable<R>(client, sql, params, opts ?? {}, signal), c, signal);
      return runCancellable<R>(c, sql, params, opts ?? {}, signal);
    },
    async exec(sql: string): Promise<void> {
      await c.query(sql);
    },
  });

  /** A pooled connection; an aborted signal stops the wait (the connection, when it comes, goes back). */
  const connect = async (from: pg.Pool, signal: AbortSignal | undefined): Promise<pg.PoolClient> => {
    if (signal === undefined) return from.connect();
    if (signal.aborted) throw signal.reason as Error;
    const pending = from.connect();
    void pending.then(
      (c) => {
        if (signal.aborted) c.release();
      },
      () => undefined,
    );
    return abortable(pending, signal);
  };

  const withClient = async <T>(fn: (c: pg.PoolClient) => Promise<T>, from: pg.Pool = pool, signal?: AbortSignal): Promise<T> => {
    const client = await connect(from, signal);
    let broken: Error | undefined;
    // A checked-out client has no listener of the pool's: a connection lost between two
    // queries (PostgreSQL restarted under a session held for long) would be an unhandled
    // 'error' event, which ends the process. Noted here; the next query fails and says so.
    const onError = (e: Error): void => {
      broken = e;
      o.onError?.(e);
    };
    client.on("error", onError);
    try {
      return await fn(client);
    } catch (e: unknown) {
      broken = e instanceof Error && isConnectionError(e) ? e : broken;
      throw e;
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  };

  return {
    kind: "pg",
    ...wrap(pool),
    tx: (fn, opts) =>
      withClient(
        async (client) => {
          await client.query("BEGIN");
          try {
            const out = await fn(wrap(client, opts?.signal));
            await client.query("COMMIT");
            return out;
          } catch (e: unknown) {
            await client.query("ROLLBACK").catch(() => undefined);
            throw e;
          }
        },
        pool,
        opts?.signal,
      ),
    session: (fn) => withClient((client) => fn(wrap(client)), sessions),
    async listen(channel, onNotify) {
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel ${channel}`);
      const client = new pg.Client({ connectionString: o.url, types });
      client.on("error", (e) => o.onError?.(e));
      client.on("notification", (n) => {
        if (n.channel === channel) onNotify(n.payload ?? "");
      });
      await client.connect();
      await client.query(`LISTEN ${channel}`);
      return async () => {
        await client.end().catch(() => undefined);
      };
    },
    async ping() {
      try {
        await pool.query("SELECT 1");
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await Promise.all([pool.end(), sessions.end()]);
    },
  };
}

function isConnectionError(e: Error): boolean {
  const code = (e as { code?: string }).code;
  return code === undefined || code === "ECONNRESET" || code === "57P01" || code === "EPIPE";
}
