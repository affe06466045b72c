/**
 * Transactions of a gRPC call: they commit only while the call is still wanted. A call whose
 * deadline passed (or whose client went away) while it waited for a lock rolls back instead
 * of committing a change nobody will hear about.
 */
import type { Db, Queryable } from "@switchboard/db";
import { abortedCall } from "./errors.js";

/** Thrown inside a transaction to roll it back and hand `value` to the caller. */
export class Rollback<T> extends Error {
  override readonly name = "Rollback";
  constructor(readonly value: T) {
    super("rollback");
  }
}

export async function callTx<T>(db: Db, signal: AbortSignal, fn: (q: Queryable) => Promise<T>): Promise<T> {
  if (signal.aborted) throw abortedCall(signal);
  // The signal also cancels the statement running when the call is abandoned (a PostgreSQL cancel request).
  return db.tx(
    async (q) => {
      const out = await fn(q);
      if (signal.aborted) throw abortedCall(signal);
      return out;
    },
    { signal },
  );
}
