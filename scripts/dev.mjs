#!/usr/bin/env node
// `make dev`: the whole stack on this machine, in the foreground.
// - nats-server from PATH with JetStream on a temporary store (unless SB_NATS_URL is set), its
//   configuration from the generator in @switchboard/bus: a user per component, deny by default,
//   passwords kept in .data/nats/ (made on first run, never committed);
// - accounts, posts, presence and the gateway (127.0.0.1:8065) from their built dist/;
// - PGlite under .data/ unless DATABASE_URL is set;
// - accounts' key-encryption key in .data/accounts-kek, made on the first run (never committed:
//   .data/ is ignored), unless SB_ACCOUNTS_KEK or SB_ACCOUNTS_KEK_FILE is set.
// - gRPC between them over mTLS: a dev CA and a certificate per component, made on the first
//   run under .data/pki/ (packages/pki; kept, never committed), unless SB_RPC_TLS_* are set.
//   SB_RPC_AUTH=token: signed service tokens instead of client certificates, a key per
//   component made on the first run under .data/pki/token-keys/ (one folder that every
//   component reads: on this one machine; a cluster mounts only the keys each one needs),
//   unless SB_RPC_TOKEN_KEYS_DIR is set.
// Ctrl-C (or SIGTERM) stops everything and removes the temporary NATS store.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deployableRoles, kvBuckets, loadOrCreateNatsUsers, natsServerConfig } from "@switchboard/bus";
import { devKekEnv } from "./dev-kek.mjs";
import { COMPONENTS, ensureDevPki, identityFiles } from "@switchboard/pki";
import { ensureServiceTokenKeys } from "@switchboard/rpc";

const root = new URL("..", import.meta.url).pathname;
const children = [];
let stopping = false;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

const COLORS = { nats: 90, accounts: 36, posts: 33, presence: 35, gateway: 32 };

function pipe(name, stream) {
  let buf = "";
  stream.on("data", (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let text = line;
      try {
        const j = JSON.parse(line);
        const { level, msg, time, pid, name: _n, component: _c, hostname: _h, ...rest } = j;
        const extra = Object.keys(rest).length ? " " + JSON.stringify(rest) : "";
        text = `${level ?? ""} ${msg ?? ""}${extra}`;
      } catch {
        // not JSON: print as is
      }
      process.stdout.write(`\x1b[${COLORS[name] ?? 0}m${name.padEnd(8)}\x1b[0m ${text}\n`);
    }
  });
}

function run(name, cmd, args, env) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  pipe(name, child.stdout);
  pipe(name, child.stderr);
  child.on("exit", (code, sig) => {
    if (!stopping) {
      console.error(`${name} exited (${code ?? sig}); stopping the stack`);
      void stop(1);
    }
  });
  children.push({ name, child });
  return child;
}

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const { child } of [...children].reverse()) {
    if (child.exitCode === null) child.kill("SIGTERM");
  }
  await Promise.all(children.map(({ child }) => (child.exitCode === null ? new Promise((r) => child.once("exit", r)) : null)));
  if (natsStore) rmSync(natsStore, { recursive: true, force: true });
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
process.on("SIGHUP", () => void stop(0));
// If whatever started us goes away without a signal reaching us (make killed alone, say),
// stop too rather than leave the stack running.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop(0);
}, 1000).unref();

let natsStore;
let natsUrl = process.env.SB_NATS_URL;
/** Each component's NATS credentials (none when SB_NATS_URL names a server of the caller's: then SB_NATS_USER etc. pass through). */
let natsEnv = () => ({});
if (!natsUrl) {
  const bin = spawnSync("sh", ["-c", "command -v nats-server || ls /usr/sbin/nats-server"], { encoding: "utf8" }).stdout.trim();
  if (!bin) {
    console.error("nats-server not found: make dev installs it when run as root (apt-get install nats-server)");
    process.exit(1);
  }
  const port = await freePort();
  natsStore = mkdtempSync(join(tmpdir(), "switchboard-nats-"));
  const { users, files } = loadOrCreateNatsUsers(join(root, ".data/nats"), deployableRoles);
  const conf = join(natsStore, "nats.conf");
  writeFileSync(conf, natsServerConfig({ users, presenceBuckets: [kvBuckets.presence.name], host: "127.0.0.1", port, jetstreamStoreDir: natsStore }), {
    mode: 0o600,
  });
  run("nats", bin, ["-c", conf], {});
  natsEnv = (role) => ({ SB_NATS_USER: users[role].user, SB_NATS_PASSWORD_FILE: files[role] });
  for (let i = 0; i < 100 && !(await portOpen(port)); i++) await new Promise((r) => setTimeout(r, 50));
  natsUrl = `nats://127.0.0.1:${port}`;
}

const pkiDir = join(root, ".data/pki");
ensureDevPki(pkiDir);
/** SB_RPC_AUTH=token: the folder of the components' service-token keys, each made once (base64 of 32 random bytes). */
function tokenKeysEnv() {
  if (process.env.SB_RPC_AUTH !== "token" || process.env.SB_RPC_TOKEN_KEYS_DIR) return {};
  return { SB_RPC_TOKEN_KEYS_DIR: ensureServiceTokenKeys(join(pkiDir, "token-keys"), COMPONENTS) };
}
const tokenEnv = tokenKeysEnv();
/** A component's certificate from the dev CA (what SB_RPC_TLS_* in the environment would replace), and the token keys in token mode. */
function tlsEnv(component) {
  if (process.env.SB_RPC_TLS_CERT_FILE) return tokenEnv;
  const f = identityFiles(pkiDir, component);
  return { SB_RPC_TLS_CA_FILE: f.caFile, SB_RPC_TLS_CERT_FILE: f.certFile, SB_RPC_TLS_KEY_FILE: f.keyFile, ...tokenEnv };
}

const db = process.env.DATABASE_URL ?? "";
const common = { SB_NATS_URL: natsUrl, SB_POD_NAME: "dev" };
const node = process.execPath;
run("accounts", node, [join(root, "services/accounts/dist/main.js")], {
  ...common,
  ...natsEnv("accounts"),
  ...devKekEnv(root),
  ...tlsEnv("accounts"),
  DATABASE_URL: db,
  SB_ACCOUNTS_PGLITE_DIR: join(root, ".data/accounts"),
});
run("posts", node, [join(root, "services/posts/dist/main.js")], {
  ...common,
  ...natsEnv("posts"),
  ...tlsEnv("posts"),
  DATABASE_URL: db,
  SB_POSTS_PGLITE_DIR: join(root, ".data/posts"),
});
run("presence", node, [join(root, "services/presence/dist/main.js")], { ...common, ...natsEnv("presence"), ...tlsEnv("presence") });
run("gateway", node, [join(root, "gateway/dist/main.js")], { ...common, ...natsEnv("gateway"), ...tlsEnv("gateway") });
console.log(
  `Switchboard starting: Mattermost API and WebSocket on http://127.0.0.1:8065 (NATS ${natsUrl}, ${db ? "PostgreSQL" : "PGlite in .data/"}). Ctrl-C stops it.`,
);
