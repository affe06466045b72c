/**
 * The private PostgreSQL server that fault tests restart: its own data under the repository's
 * .tmp/, its own port; killed, it recovers what was committed; stopped, it leaves nothing.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, startPostgresServer, type PostgresServer } from "../src/index.js";

let server: PostgresServer;

async function query(sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  const started = Date.now();
  server = await startPostgresServer({ name: "test" });
  console.info(`private PostgreSQL (initdb + start) in ${Date.now() - started} ms`);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe("a private PostgreSQL server", () => {
  it("runs from the work tree, on a port of its own, not as root", () => {
    expect(server.dataDir.startsWith(join(repoRoot(), ".tmp"))).toBe(true);
    expect(server.port).not.toBe(5432);
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))?.[1];
    expect(uid).not.toBe("0");
  });

  it("keeps what was committed across a SIGKILL and a restart", async () => {
    await query("CREATE TABLE t (v int); INSERT INTO t VALUES (1), (2)");
    const before = server.pid;
    await server.kill();
    await expect(query("SELECT 1")).rejects.toThrow();
    await server.start();
    expect(server.pid).not.toBe(before);
    expect((await query("SELECT count(*)::int AS n FROM t")).rows[0]).toEqual({ n: 2 });
    await server.restart();
    expect((await query("SELECT count(*)::int AS n FROM t")).rows[0]).toEqual({ n: 2 });
  });

  it("removes its data when stopped", async () => {
    const dir = server.dataDir;
    await server.stop();
    expect(existsSync(dir)).toBe(false);
  });
});
