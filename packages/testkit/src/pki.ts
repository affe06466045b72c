/**
 * The test run's service identities: a fresh dev CA (packages/pki) made on first use in this
 * process, under the work tree's .tmp/ (never committed), removed when the process exits (or,
 * when it was killed, by the next run).
 * Every deployable a test starts gets its component's certificate (spawnDeployable), so every
 * test exercises mTLS; a test's own gRPC clients present the gateway's (the edge) unless told.
 * A stack in token mode (SB_RPC_AUTH=token) gets service-token keys from the same folder: one
 * per component, each deployable holding its own and those of its callers.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { COMPONENTS, createDevPki, identityFiles, type Component, type IdentityFiles } from "@switchboard/pki";
import { CALLERS_BY_PATH, ensureServiceTokenKeys, parseServiceTokenKey, type ClientTlsOptions } from "@switchboard/rpc";
import { repoRoot } from "./repo-root.js";

let dir: string | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the folders of test processes that are gone (a worker killed never runs its exit handler). */
function removeStale(base: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(/^run-(\d+)-/.exec(n)?.[1]);
    if (Number.isSafeInteger(pid) && pid > 0 && !alive(pid)) rmSync(join(base, n), { recursive: true, force: true });
  }
}

/** The folder of this process's test CA and its leaves (made on first call). */
export function testPkiDir(): string {
  if (dir === undefined) {
    const base = join(repoRoot(), ".tmp", "pki");
    removeStale(base);
    const d = join(base, `run-${process.pid}-${randomBytes(4).toString("hex")}`);
    createDevPki(d);
    process.once("exit", () => rmSync(d, { recursive: true, force: true }));
    dir = d;
  }
  return dir;
}

/** The test CA's files of a component (or of any workload name issued into the folder). */
export function testIdentity(component: Component): IdentityFiles {
  return identityFiles(testPkiDir(), component);
}

/** SB_RPC_TLS_* of a component, for a deployable a test starts (in a process or in-process). */
export function rpcTlsEnv(component: Component): Record<string, string> {
  const f = testIdentity(component);
  return { SB_RPC_TLS_CA_FILE: f.caFile, SB_RPC_TLS_CERT_FILE: f.certFile, SB_RPC_TLS_KEY_FILE: f.keyFile };
}

/**
 * What a deployable authenticates gRPC with in a test: mTLS, its certificate (SB_RPC_TLS_*);
 * token mode, its keys (rpcTokenEnv) and the CA, with the certificate a service serves (the
 * gateway gets none: it serves no gRPC, and must not need one).
 */
export function rpcAuthEnv(component: Component, auth: "mtls" | "token"): Record<string, string> {
  if (auth === "mtls") return rpcTlsEnv(component);
  const tls = rpcTlsEnv(component);
  return { ...(component === "gateway" ? { SB_RPC_TLS_CA_FILE: tls.SB_RPC_TLS_CA_FILE! } : tls), ...rpcTokenEnv(component) };
}

/** TLS options of a test's client of `server`, calling as `as` (the gateway by default). */
export function testClientTls(server: Component, as: Component = "gateway"): ClientTlsOptions & IdentityFiles {
  return { ...testIdentity(as), server };
}

/** The run's service-token key files, <component>.key each, made on first call beside the CA. */
function tokenKeysDir(): string {
  return ensureServiceTokenKeys(join(testPkiDir(), "token-keys"), COMPONENTS);
}

/** A component's service-token key of the test run (a test that signs tokens itself). */
export function testTokenKey(component: Component): Uint8Array {
  const file = join(tokenKeysDir(), `${component}.key`);
  return parseServiceTokenKey(readFileSync(file, "utf8"), file);
}

/** The components that may call some method of `component`'s service (its allowlists, /sb.<component>.v1.*). */
function callersOf(component: Component): Set<string> {
  const out = new Set<string>();
  for (const [path, callers] of CALLERS_BY_PATH) if (path.startsWith(`/sb.${component}.v1.`)) for (const c of callers) out.add(c);
  return out;
}

/**
 * SB_RPC_AUTH=token for a deployable a test starts: a keys folder of its own holding its key
 * and those of the components its allowlists name, as a Kubernetes Secret mounted with only
 * those items would (the gateway, which serves nothing, holds its own alone).
 */
function rpcTokenEnv(component: Component): Record<string, string> {
  const all = tokenKeysDir();
  const d = join(all, component);
  mkdirSync(d, { recursive: true, mode: 0o700 });
  for (const c of new Set([component, ...callersOf(component)])) writeFileSync(join(d, `${c}.key`), readFileSync(join(all, `${c}.key`)), { mode: 0o600 });
  return { SB_RPC_AUTH: "token", SB_RPC_TOKEN_KEYS_DIR: d };
}
