import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect, createServer, type AddressInfo } from "node:net";
import pg from "pg";
import { createTestDatabase, startFaultProxy, waitFor, type FaultProxy, type TestDatabase } from "../src/index.js";

// The real server and client here: PostgreSQL and node-postgres, through the proxy.
let db: TestDatabase;
let proxy: FaultProxy;
const clients: pg.Client[] = [];

beforeAll(async () => {
  db = await createTestDatabase("sb_proxy");
  const u = new URL(db.url);
  proxy = await startFaultProxy({ target: `${u.hostname}:${u.port || "5432"}` });
});

afterEach(() => {
  proxy.restore();
});

afterAll(async () => {
  // Every client's socket goes with the proxy (pg's end() never settles on a socket already reset).
  await proxy?.stop();
  for (const c of clients) void c.end().catch(() => undefined);
  await db?.drop();
});

async function viaProxy(o: { queryTimeoutMs?: number } = {}): Promise<pg.Client> {
  const u = new URL(db.url);
  u.host = proxy.address;
  const c = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 5_000, ...(o.queryTimeoutMs ? { query_timeout: o.queryTimeoutMs } : {}) });
  c.on("error", () => undefined);
  clients.push(c);
  await c.connect();
  return c;
}

const one = async (c: pg.Client, sql = "SELECT 42 AS v") => (await c.query<{ v: number }>(sql)).rows[0]!.v;

describe("fault proxy", () => {
  it("forwards a real client's traffic to the target", async () => {
    const c = await viaProxy();
    expect(await one(c)).toBe(42);
    expect(proxy.connections).toBeGreaterThanOrEqual(1);
  });

  it("delay holds every chunk, in both directions, for the set time", async () => {
    const c = await viaProxy();
    proxy.delay(250);
    const t0 = Date.now();
    expect(await one(c)).toBe(42);
    // A query is one chunk each way: at least two delays.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(490);
    proxy.restore();
    const t1 = Date.now();
    expect(await one(c)).toBe(42);
    expect(Date.now() - t1).toBeLessThan(250);
  });

  it("keeps byte order when a delay is lifted mid-stream", async () => {
    // A plain echo peer: what matters is the order the proxy forwards in.
    // Its sockets may be reset when the proxy stops: an error there is the end of the test, not a failure.
    const echo = createServer((s) => {
      s.on("error", () => undefined);
      s.pipe(s);
    });
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    const p = await startFaultProxy({ target: `127.0.0.1:${String((echo.address() as AddressInfo).port)}` });
    try {
      const sock = connect({ host: "127.0.0.1", port: p.port });
      sock.on("error", () => undefined);
      let got = "";
      sock.on("data", (d: Buffer) => (got += d.toString()));
      await new Promise<void>((resolve) => sock.once("connect", resolve));
      await waitFor(() => p.connections === 1);
      p.delay(200);
      sock.write("first,");
      await waitFor(() => p.queuedBytes === "first,".length, { what: "the first chunk held" });
      p.restore();
      sock.write("second");
      await waitFor(() => got.length === "first,second".length, { what: "both echoes" });
      expect(got).toBe("first,second");
      sock.destroy();
    } finally {
      await p.stop();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });

  it("black-hole forwards nothing but keeps the socket open; restore delivers what it held", async () => {
    const c = await viaProxy();
    const before = proxy.connections;
    proxy.blackhole();
    let answered = false;
    const q = one(c, "SELECT 7 AS v").then((v) => {
      answered = true;
      return v;
    });
    await waitFor(() => proxy.queuedBytes > 0, { what: "the query held" });
    // The query is held: a window the query would need far less than (it takes ~1 ms here).
    await expect(waitFor(() => answered, { timeoutMs: 400, what: "an answer through the black hole" })).rejects.toThrow(/timed out/);
    expect(proxy.connections).toBe(before);
    proxy.restore();
    expect(await q).toBe(7);
  });

  it("reset drops every connection with an RST, and refuses new ones until restore", async () => {
    const c = await viaProxy();
    const failed = c.query("SELECT pg_sleep(5)").then(
      () => "answered",
      (e: unknown) => String(e),
    );
    await waitFor(() => proxy.connections > 0);
    proxy.reset();
    expect(await failed).toMatch(/ECONNRESET/);
    await expect(viaProxy()).rejects.toThrow(/ECONNRESET|terminated|closed/);
    proxy.restore();
    expect(await one(await viaProxy())).toBe(42);
  });

  it("close ends every connection cleanly, and new ones too until restore", async () => {
    const c = await viaProxy();
    const ended = new Promise<void>((resolve) => c.once("end", resolve));
    proxy.close();
    await ended;
    await expect(viaProxy()).rejects.toThrow(/terminated|closed|ECONNRESET/);
    proxy.restore();
    expect(await one(await viaProxy())).toBe(42);
  });

  it("refuses a bad target and a bad delay with clear errors", async () => {
    await expect(startFaultProxy({ target: "example.com:80" })).rejects.toThrow(/loopback/);
    await expect(startFaultProxy({ target: "127.0.0.1" })).rejects.toThrow(/host:port/);
    expect(() => proxy.delay(-1)).toThrow(/delay/);
  });
});
