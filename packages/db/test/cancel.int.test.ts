/**
 * A query given an AbortSignal stops taking database time when the signal aborts: PostgreSQL
 * interrupts the running statement (a cancel request), a query waiting for a pooled
 * connection stops waiting, a transaction's statement is interrupted and the transaction
 * rolls back; PGlite's caller stops waiting. Each fails with the signal's reason.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, waitFor, type TestDatabase } from "@switchboard/testkit";
import { openDatabase, type Db } from "../src/index.js";

let pg: TestDatabase;
let db: Db;

beforeAll(async () => {
  pg = await createTestDatabase("sb_db");
  db = await openDatabase({ url: pg.url, schema: "cancel", poolSize: 2 });
  await db.exec("CREATE TABLE marks (n int)");
});

afterAll(async () => {
  await db?.close();
  await pg?.drop();
});

const reason = new Error("the call was abandoned");

/** Backends of this test's database running pg_sleep now (asked on a session connection: the pool may be busy). */
async function sleeping(): Promise<number> {
  const r = await db.session((s) =>
    s.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep%'",
    ),
  );
  return r.rows[0]!.n;
}

it("interrupts a running PostgreSQL statement when its signal aborts, and fails with the signal's reason", async () => {
  const ac = new AbortController();
  const q = db.query("SELECT pg_sleep(30)", [], { signal: ac.signal });
  await waitFor(async () => (await sleeping()) === 1, { timeoutMs: 5_000, what: "the query to run" });
  const t0 = performance.now();
  ac.abort(reason);
  await expect(q).rejects.toBe(reason);
  // The backend stopped sleeping (not just our wait for it).
  await waitFor(async () => (await sleeping()) === 0, { timeoutMs: 2_000, what: "the statement to end on the server" });
  expect(performance.now() - t0).toBeLessThan(2_000);
  // The connection is fine afterwards.
  expect((await db.query<{ one: number }>("SELECT 1 AS one")).rows[0]!.one).toBe(1);
});

it("stops waiting for a pooled connection when the signal aborts, and the connection goes back when it comes", async () => {
  const hold = new AbortController();
  // Both pooled connections busy.
  const busy = [db.query("SELECT pg_sleep(30)", [], { signal: hold.signal }), db.query("SELECT pg_sleep(30)", [], { signal: hold.signal })];
  await waitFor(async () => (await sleeping()) === 2, { timeoutMs: 5_000, what: "the pool to be busy" });
  const ac = new AbortController();
  const waiting = db.query("SELECT 1", [], { signal: ac.signal });
  ac.abort(reason);
  await expect(waiting).rejects.toBe(reason);
  hold.abort(reason);
  await Promise.allSettled(busy);
  // Nothing leaked: both connections serve again.
  const r = await Promise.all([db.query("SELECT 1"), db.query("SELECT 1")]);
  expect(r.map((x) => x.rowCount)).toEqual([1, 1]);
});

it("interrupts a transaction's statement and rolls the transaction back", async () => {
  const ac = new AbortController();
  const tx = db.tx(
    async (q) => {
      await q.query("INSERT INTO marks VALUES (1)");
      await q.query("SELECT pg_sleep(30)");
    },
    { signal: ac.signal },
  );
  await waitFor(async () => (await sleeping()) === 1, { timeoutMs: 5_000, what: "the transaction's statement to run" });
  ac.abort(reason);
  await expect(tx).rejects.toBe(reason);
  await waitFor(async () => (await sleeping()) === 0, { timeoutMs: 2_000, what: "the statement to end on the server" });
  expect((await db.query("SELECT * FROM marks")).rowCount).toBe(0);
});

it("PGlite: the caller stops waiting when the signal aborts", async () => {
  const lite = await openDatabase({ schema: "cancel" });
  try {
    const ac = new AbortController();
    // A statement that runs for a while in-process.
    const q = lite.query("SELECT count(*) FROM generate_series(1, 300000)", [], { signal: ac.signal });
    ac.abort(reason);
    await expect(q).rejects.toBe(reason);
    await expect(lite.query("SELECT 1", [], { signal: ac.signal })).rejects.toBe(reason);
  } finally {
    await lite.close();
  }
});
