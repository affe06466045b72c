// The server the hostile-peer suite attacks, in a process of its own so its RSS is its own: a
// gRPC server (TRANSPORT: h2 or grpc-js) serving PresenceService.GetStatus from a real
// PostgreSQL database (DATABASE_URL). GetStatus("sleep:<s>") runs pg_sleep(s) under the call's
// AbortSignal; any other id reads its row. The own HTTP/2 server's limits come from the
// SB_RPC_H2_* variables. Over IPC: {type:"stats"} answers {rss, heapUsed, active, started, maxActive}
// (after a full GC when asked {gc:true}); {type:"resetMax"} starts maxActive afresh.
import { openDatabase } from "@switchboard/db";
import { silentLogger } from "@switchboard/log";
import { PresenceService } from "@switchboard/proto/presence";
import { createRpcServer, H2_LIMIT_SETTINGS } from "@switchboard/rpc";

const db = await openDatabase({ url: process.env.DATABASE_URL, schema: "hostile", poolSize: 4 });
await db.exec("CREATE TABLE IF NOT EXISTS statuses (user_id text PRIMARY KEY, status text NOT NULL)");
await db.query("INSERT INTO statuses VALUES ('caller', 'online') ON CONFLICT DO NOTHING");

let active = 0;
let started = 0;
let maxActive = 0;

const never = () => new Promise(() => {});
const h2Limits = {};
for (const l of H2_LIMIT_SETTINGS) if (process.env[l.env]) h2Limits[l.key] = Number(process.env[l.env]);

const server = createRpcServer({
  transport: process.env.TRANSPORT,
  host: "127.0.0.1",
  port: 0,
  maxMessageBytes: 4 << 20,
  defaultDeadlineMs: Number(process.env.DEFAULT_DEADLINE_MS ?? 5000),
  h2Limits,
  logger: silentLogger,
});
server.add(PresenceService, {
  async getStatus(req, ctx) {
    started++;
    active++;
    maxActive = Math.max(maxActive, active);
    try {
      if (req.userId.startsWith("sleep:")) {
        await db.query("SELECT pg_sleep($1)", [Number(req.userId.slice(6))], { signal: ctx.signal });
        return { status: { userId: req.userId, status: "slept" } };
      }
      const r = await db.query("SELECT status FROM statuses WHERE user_id = $1", [req.userId], { signal: ctx.signal });
      return { status: { userId: req.userId, status: r.rows[0]?.status ?? "offline" } };
    } finally {
      active--;
    }
  },
  getStatuses: never,
  listActiveStatuses: never,
  setStatus: never,
  acquireLease: never,
  report: never,
  releaseLease: never,
});
const port = await server.start();
server.health.setServing(true);

process.on("message", (m) => {
  if (m.type === "stats") {
    if (m.gc && globalThis.gc) {
      globalThis.gc();
      globalThis.gc();
    }
    const mu = process.memoryUsage();
    process.send({ type: "stats", rss: mu.rss, heapUsed: mu.heapUsed, active, started, maxActive });
  } else if (m.type === "resetMax") {
    maxActive = active;
    process.send({ type: "resetMax" });
  }
});
process.on("disconnect", () => {
  void server
    .stop(100)
    .then(() => db.close())
    .finally(() => process.exit(0));
});
process.send({ type: "ready", port });
