/**
 * Certificates for the tests of service identity: a fresh dev CA with a leaf per component,
 * a leaf for a workload no allowlist names, and a second CA whose "gateway" nobody trusts.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { silentLogger } from "@switchboard/log";
import { createCa, createDevPki, identityFiles, issueLeaf, workloadOfSubjectAltName, type IdentityFiles } from "@switchboard/pki";
import type { RpcServerOptions, RpcServerTransport } from "../src/index.js";
import { TlsIdentity } from "../src/tls-identity.js";

export interface TestPki {
  readonly dir: string;
  /** The trusted CA's leaf of a workload. */
  readonly files: (workload: string) => IdentityFiles;
  /** A "gateway" from a CA the servers do not trust. */
  readonly foreign: IdentityFiles;
  remove(): void;
}

function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "sb-pki-test-"));
  createDevPki(join(dir, "trusted"));
  issueLeaf(join(dir, "trusted"), "intruder");
  createCa(join(dir, "foreign"), "Someone else's CA");
  issueLeaf(join(dir, "foreign"), "gateway");
  return {
    dir,
    files: (w) => identityFiles(join(dir, "trusted"), w),
    foreign: identityFiles(join(dir, "foreign"), "gateway"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A fresh test PKI for the file's tests (made before them, removed after): call the getter inside tests. */
export function useTestPki(): () => TestPki {
  let pki: TestPki | undefined;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki?.remove());
  return () => pki!;
}

/** Options of a server on a free loopback port, serving mTLS as `files`. */
export function tlsServerOptions(files: IdentityFiles, transport?: RpcServerTransport): RpcServerOptions {
  return { transport, host: "127.0.0.1", port: 0, maxMessageBytes: 1 << 20, defaultDeadlineMs: 5_000, logger: silentLogger, tls: files };
}

/**
 * A raw grpc-js channel to `port` over TLS, trusting `ca`, presenting `as` when given (no
 * client certificate otherwise), expecting the server to be `server`.
 */
export function rawTlsClient(port: number, caFile: string, server: string, as?: IdentityFiles): { client: grpc.Client; close(): void } {
  const ca = readFileSync(caFile);
  const identity = as === undefined ? null : new TlsIdentity(as);
  const caOnly: grpc.experimental.CertificateProvider = {
    addCaCertificateListener: (l) => process.nextTick(l, { caCertificate: ca }),
    removeCaCertificateListener: () => {},
    addIdentityCertificateListener: () => {},
    removeIdentityCertificateListener: () => {},
  };
  const creds = grpc.experimental.createCertificateProviderChannelCredentials(caOnly, identity, {
    checkServerIdentity: (_h, cert) => (workloadOfSubjectAltName(cert.subjectaltname) === server ? undefined : new Error("wrong server")),
  });
  const client = new grpc.Client(`127.0.0.1:${port}`, creds, { "grpc.ssl_target_name_override": server });
  return {
    client,
    close: () => {
      client.close();
      identity?.close();
    },
  };
}

/** Calls `path` with an empty request; resolves to the status code (0 for OK) and the error's details. */
export function callStatus(
  client: grpc.Client,
  path: string,
  deadlineMs = 5_000,
  metadata = new grpc.Metadata(),
): Promise<{ code: grpc.status; details: string }> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      metadata,
      { deadline: Date.now() + deadlineMs },
      (e) => resolve(e ? { code: e.code, details: e.details } : { code: grpc.status.OK, details: "" }),
    ),
  );
}

/** Calls `path` with an empty request; resolves to the status code (0 for OK). */
export async function callCode(client: grpc.Client, path: string, deadlineMs = 5_000, metadata = new grpc.Metadata()): Promise<grpc.status> {
  return (await callStatus(client, path, deadlineMs, metadata)).code;
}
