#!/usr/bin/env node
// Writes a nats-server configuration for Switchboard from the one generator in @switchboard/bus
// (after the build): a user per component with deny-by-default permissions (ARCHITECTURE.md §4a).
// The passwords are read from <secrets>/<role>.password, or made there when missing (mode 0600);
// give the components the same files (SB_NATS_USER=<role>, SB_NATS_PASSWORD_FILE=<file>).
// A rotation: write new password files, run this again, then reload the server (SIGHUP).
//
//   node scripts/nats-config.mjs --secrets DIR [--out FILE] [--host H] [--port N] [--store DIR]
//     [--server-name NAME] [--presence-bucket B] [--tls-ca F --tls-cert F --tls-key F]
//     [--cluster-name NAME --cluster-listen H:P --route H:P ... --route-password-file F]
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { deployableRoles, kvBuckets, loadOrCreateNatsUsers, natsServerConfig, newNatsPassword } from "@switchboard/bus";

const { values: o } = parseArgs({
  options: {
    secrets: { type: "string" },
    out: { type: "string" },
    host: { type: "string", default: "0.0.0.0" },
    port: { type: "string", default: "4222" },
    store: { type: "string" },
    "server-name": { type: "string" },
    "presence-bucket": { type: "string", multiple: true },
    "tls-ca": { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "cluster-name": { type: "string" },
    "cluster-listen": { type: "string" },
    route: { type: "string", multiple: true },
    "route-password-file": { type: "string" },
  },
});
if (!o.secrets) {
  console.error("--secrets DIR is required: the directory of the components' password files");
  process.exit(2);
}
const { users } = loadOrCreateNatsUsers(o.secrets, deployableRoles);
const tls = o["tls-ca"] ? { caFile: o["tls-ca"], certFile: o["tls-cert"] ?? "", keyFile: o["tls-key"] ?? "" } : undefined;
if (tls && (!tls.certFile || !tls.keyFile)) {
  console.error("--tls-ca needs --tls-cert and --tls-key");
  process.exit(2);
}
let cluster;
if (o["cluster-name"]) {
  const file = o["route-password-file"] ?? join(o.secrets, "route.password");
  if (!existsSync(file)) writeFileSync(file, newNatsPassword() + "\n", { mode: 0o600 });
  const password = readFileSync(file, "utf8").trim();
  cluster = { name: o["cluster-name"], listen: o["cluster-listen"] ?? "0.0.0.0:6222", routes: o.route ?? [], user: "route", password, ...(tls ? { tls } : {}) };
}
const text = natsServerConfig({
  users,
  presenceBuckets: o["presence-bucket"] ?? [kvBuckets.presence.name],
  host: o.host,
  port: Number(o.port),
  ...(o.store ? { jetstreamStoreDir: o.store } : {}),
  ...(o["server-name"] ? { serverName: o["server-name"] } : {}),
  ...(tls ? { tls } : {}),
  ...(cluster ? { cluster } : {}),
});
if (o.out) writeFileSync(o.out, text, { mode: 0o600 });
else process.stdout.write(text);
