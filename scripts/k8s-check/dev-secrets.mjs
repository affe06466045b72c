// The secrets of the dev and local overlays, made on this machine and never committed
// (k8s/overlays/*/secrets/ is ignored by git): a dev CA with a certificate per component
// (@switchboard/pki: URI SAN spiffe://switchboard/<component>, DNS <component> and its
// Service names), the NATS users' passwords (@switchboard/bus) and the route password, the
// accounts KEK, and the in-cluster PostgreSQL's password with the DATABASE_URL that uses it.
// Files already there are kept, so a dev cluster keeps its secrets across renders.
//
//   node scripts/k8s-check/dev-secrets.mjs k8s/overlays/dev/secrets
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deployableRoles, loadOrCreateNatsUsers, newNatsPassword } from "@switchboard/bus";
import { COMPONENTS, ensureDevPki } from "@switchboard/pki";

const NAMESPACE = "switchboard";

function keep(file, make) {
  if (!existsSync(file)) writeFileSync(file, make(), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

/** Makes what is missing under `dir`; `databaseHost` names the PostgreSQL DATABASE_URL points at. */
export function ensureDevSecrets(dir, { databaseHost = "postgres" } = {}) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pki = join(dir, "pki");
  const dnsNames = COMPONENTS.flatMap((c) => [`${c}.${NAMESPACE}`, `${c}.${NAMESPACE}.svc`, `${c}.${NAMESPACE}.svc.cluster.local`]);
  ensureDevPki(pki, { dnsNames });
  const nats = join(dir, "nats");
  loadOrCreateNatsUsers(nats, deployableRoles);
  keep(join(nats, "route.password"), () => newNatsPassword() + "\n");
  keep(join(dir, "accounts-kek"), () => `dev-${Date.now().toString(36)}:${randomBytes(32).toString("base64")}\n`);
  const pg = keep(join(dir, "postgres-password"), () => randomBytes(18).toString("base64url") + "\n");
  keep(join(dir, "database-url"), () => `postgres://switchboard:${pg}@${databaseHost}:5432/switchboard\n`);
  // secretGenerator reads whole files: the URL without its newline.
  writeFileSync(join(dir, "DATABASE_URL"), readFileSync(join(dir, "database-url"), "utf8").trim(), { mode: 0o600 });
  writeFileSync(join(dir, "POSTGRES_PASSWORD"), pg, { mode: 0o600 });
  for (const r of [...deployableRoles, "route"]) {
    writeFileSync(join(nats, r), readFileSync(join(nats, `${r}.password`), "utf8").trim(), { mode: 0o600 });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node scripts/k8s-check/dev-secrets.mjs DIR [DATABASE_HOST]");
    process.exit(2);
  }
  ensureDevSecrets(dir, process.argv[3] ? { databaseHost: process.argv[3] } : {});
}
