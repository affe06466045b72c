/**
 * A connection lost while the pg driver holds it outside the pool (a session kept for long,
 * as the outbox relay's leadership is) must not end the process: PostgreSQL restarted or a
 * backend terminated is an error the holder sees on its next query, and the database is
 * usable again at once.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, waitFor, type TestDatabase } from "@switchboard/testkit";
import { openDatabase, type Db } from "../src/index.js";

let pg: TestDatabase;
let db: Db;
const errors: unknown[] = [];

beforeAll(async () => {
  pg = await createTestDatabase("sb_db");
  db = await openDatabase({ url: pg.url, schema: "lost", onError: (e) => errors.push(e) });
});

afterAll(async () => {
  await db?.close();
  await pg?.drop();
});

it("survives the backend of a held session being terminated between two queries", async () => {
  const seen = await db.session(async (s) => {
    const pid = (await s.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    await db.query("SELECT pg_terminate_backend($1)", [pid]);
    // The connection's end arrives while nobody queries it: an 'error' event on the client.
    await waitFor(() => errors.length > 0, { timeoutMs: 10_000, what: "the lost connection to be reported" });
    return s.query("SELECT 1").then(
      () => "answered",
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
  });
  expect(seen).not.toBe("answered");
  // The broken connection was not put back: the next session and calls get working ones.
  expect((await db.session((s) => s.query<{ one: number }>("SELECT 1 AS one"))).rows[0]!.one).toBe(1);
  expect((await db.query<{ one: number }>("SELECT 1 AS one")).rows[0]!.one).toBe(1);
});
