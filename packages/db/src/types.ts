/** The database interface both drivers implement (see db.ts). */
export interface QueryResult<R> {
  readonly rows: R[];
  readonly rowCount: number;
}

export interface QueryOptions {
  /**
   * Use a named prepared statement (PostgreSQL parses and plans it once per connection, not
   * per call). For hot statements with a fixed text; the text identifies the statement.
   * PGlite ignores it.
   */
  readonly prepare?: boolean;
  /**
   * Cancels the query when aborted: PostgreSQL is sent a cancel request for it (a query still
   * waiting for a pooled connection gives up waiting), PGlite's caller stops waiting. The query
   * then fails with the signal's reason.
   */
  readonly signal?: AbortSignal | undefined;
}

export interface TxOptions {
  /** Cancels the statement the transaction runs when aborted (as QueryOptions.signal); the transaction rolls back. */
  readonly signal?: AbortSignal | undefined;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<R>>;
  /** Runs a script of several statements (no parameters). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: "pg" | "pglite";
  /** Runs fn inside BEGIN/COMMIT on one connection; rolls back if fn throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>, opts?: TxOptions): Promise<T>;
  /**
   * Holds one connection for as long as fn runs (session-level advisory locks). With pg the
   * connection comes from a small set kept apart from the call pool, so a session held for
   * the process's life takes nothing from the calls. With PGlite there is only one session,
   * so session locks always succeed.
   */
  session<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** LISTEN on a channel; resolves to an unlisten function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Quick liveness query for readiness checks. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** postgres:// URL; when empty, PGlite is used. */
  readonly url?: string;
  /** PGlite data directory; "memory://" or empty for an in-memory database. */
  readonly dataDir?: string;
  /** Schema holding this service's tables (created if missing, first on search_path). */
  readonly schema: string;
  /** pg pool size. */
  readonly poolSize?: number;
  /** Per-statement timeout for pg, in ms (0 = none). */
  readonly statementTimeoutMs?: number;
  readonly onError?: (e: unknown) => void;
}
