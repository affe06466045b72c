/**
 * The test run's service identities: a fresh dev CA (packages/pki) made on first use in this
 * process, under the work tree's .tmp/ (never committed), removed when the process exits (or,
 * when it was killed, by the next run).
 * Every deployable a test starts gets its component's certificate (spawnDeployable), so every
 * test exercises mTLS; a test's own gRPC clients present the gateway's (the edge) unless told.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createDevPki, identityFiles, type Component, type IdentityFiles } from "@switchboard/pki";
import type { ClientTlsOptions } from "@switchboard/rpc";
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

/** TLS options of a test's client of `server`, calling as `as` (the gateway by default). */
export function testClientTls(server: Component, as: Component = "gateway"): ClientTlsOptions {
  return { ...testIdentity(as), server };
}
