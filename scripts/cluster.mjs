#!/usr/bin/env node
// `make cluster`: Switchboard shaped as in production, on this machine, in the foreground.
// The layout and every timing come from the topology (packages/testkit/src/cluster/topology.ts):
// - 3 nats-servers in one cluster (routes), the event stream, control stream and presence KV at R3;
// - 2 replicas of accounts, posts and presence, each service behind an HAProxy TCP port;
// - 3 gateways behind HAProxy's ingress on 127.0.0.1:8065 (health checks on /readyz, leastconn);
// - PostgreSQL: DATABASE_URL, or a database of its own on 127.0.0.1:5432 (dropped on exit);
// - accounts' KEK: with DATABASE_URL the dev one (dev-kek.mjs), so the database opens again next
//   run; otherwise a KEK of this run only.
// Ctrl-C (or SIGTERM) stops everything.
import { startCluster } from "@switchboard/testkit";
import { devKekEnv } from "./dev-kek.mjs";

const COLORS = { nats: 90, haproxy: 34, accounts: 36, posts: 33, presence: 35, gateway: 32 };
let cluster;
let stopping = false;

function print(part, line) {
  let text = line;
  try {
    const { level, msg, time: _t, pid: _p, name: _n, component: _c, hostname: _h, ...rest } = JSON.parse(line);
    // The configuration dump at start is long and the same for every replica.
    if (msg === "starting") return;
    text = `${level ?? ""} ${msg ?? ""}${Object.keys(rest).length ? " " + JSON.stringify(rest) : ""}`;
  } catch {
    // not JSON: print as is
  }
  const color = COLORS[part.replace(/-\d+$/, "")] ?? 0;
  process.stdout.write(`\x1b[${color}m${part.padEnd(11)}\x1b[0m ${text}\n`);
}

async function stop(code) {
  if (stopping) return;
  stopping = true;
  console.log("stopping the cluster");
  await cluster?.stop();
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
process.on("SIGHUP", () => void stop(0));
// If whatever started us goes away without a signal reaching us, stop too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop(0);
}, 1000).unref();

const started = Date.now();
try {
  const root = new URL("..", import.meta.url).pathname;
  cluster = await startCluster({ size: "full", onLine: print, ...(process.env.DATABASE_URL ? { accountsEnv: devKekEnv(root) } : {}) });
} catch (e) {
  console.error(`the cluster did not start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
if (stopping) {
  await cluster.stop();
  process.exit(0);
}
const t = cluster.topology;
console.log(
  [
    `Switchboard cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s: Mattermost API and WebSocket on ${cluster.url} (HAProxy, ${t.gateways} gateways).`,
    `  NATS ${cluster.nats.url} (${t.natsNodes} nodes, streams and KV at R${t.natsReplicas}); services x${t.services.posts}; PostgreSQL ${cluster.databaseUrl.replace(/\/\/[^@]*@/, "//")}`,
    ...cluster.gateways.list.map((g) => `  ${g.name}: ${g.url} (ops :${g.opsPort}), HAProxy slot gateways/gw${g.slot + 1}`),
    `  HAProxy runtime API: ${cluster.haproxy.statsSocket} (echo "show stat" | socat stdio ${cluster.haproxy.statsSocket}). Ctrl-C stops it all.`,
  ].join("\n"),
);
// A part that dies unasked stops the cluster, as make dev does: a half cluster misleads.
for (const p of [
  ...Object.values(cluster.services)
    .flat()
    .map((r) => [r.name, r.process]),
  ...cluster.gateways.list.map((g) => [g.name, g.process]),
]) {
  void p[1].exited.then((c) => {
    if (!stopping) {
      console.error(`${p[0]} exited (${c}); stopping the cluster`);
      void stop(1);
    }
  });
}
