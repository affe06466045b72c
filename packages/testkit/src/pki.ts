/**
 * The test run's service identities: a fresh dev CA (packages/pki) made on first use in this
 * process, under the work tree's .tmp/ (never committed), removed when the process exits.
 * Every deployable a test starts gets its component's certificate (spawnDeployable), so every
 * test exercises mTLS; a test's own gRPC clients present the gateway's (the edge) unless told.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createDevPki, identityFiles, type Component, type IdentityFiles } from "@switchboard/pki";
import type { ClientTlsOptions } from "@switchboard/rpc";
import { repoRoot } from "./repo-root.js";

let dir: string | undefined;

/** The folder of this process's test CA and its leaves (made on first call). */
export function testPkiDir(): string {
  if (dir === undefined) {
    const d = join(repoRoot(), ".tmp", "pki", `run-${process.pid}-${randomBytes(4).toString("hex")}`);
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
