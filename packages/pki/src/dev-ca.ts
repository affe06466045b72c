/**
 * The dev CA: a certificate authority and a key and certificate for each component, made
 * with the openssl command (Debian's `openssl`; the Makefile installs it when missing). It is
 * what `make dev`, `make cluster` and the test stacks use; production mounts certificates
 * issued by its own CA at the same settings (SB_RPC_TLS_*).
 *
 * Why the openssl command and not an npm library: it is the reference X.509 implementation
 * (Node's TLS is OpenSSL itself), it adds no JavaScript to the trust root, and the same
 * commands are what an operator runs by hand. Issuing a whole set takes a few tens of ms.
 *
 * Keys are written 0600 in a folder that is never committed (`.data/pki` for make dev; a
 * fresh temporary folder for each test run).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { COMPONENTS, spiffeId } from "./identity.js";

/** The three files a process needs: what it trusts, who it is. */
export interface IdentityFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface LeafOptions {
  /** The workload name in the URI SAN (default: the leaf's file name). */
  readonly workload?: string;
  /** Extra DNS names (the Kubernetes service names, say); localhost and 127.0.0.1 are always in. */
  readonly dnsNames?: readonly string[];
  readonly days?: number;
}

const CA_DAYS = 3650;
/** A new EC P-256 key, unencrypted (its file is 0600), with a request for it. */
const NEW_KEY = ["-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"] as const;
const LEAF_DAYS = 825;

function openssl(args: readonly string[]): void {
  try {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e: unknown) {
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === "ENOENT") throw new Error("the openssl command is missing: install it (apt-get install openssl, or make dev does)");
    throw new Error(`openssl ${args[0] ?? ""} failed: ${err.stderr?.toString().trim() ?? String(e)}`);
  }
}

/** Where the CA's files of a folder are. */
export function caFiles(dir: string): { readonly certFile: string; readonly keyFile: string } {
  return { certFile: join(dir, "ca.crt"), keyFile: join(dir, "ca.key") };
}

/** The identity files of a leaf in a folder made by createCa/issueLeaf. */
export function identityFiles(dir: string, name: string): IdentityFiles {
  return { caFile: caFiles(dir).certFile, certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
}

/** A new CA (EC P-256) in `dir`, replacing one already there. */
export function createCa(dir: string, commonName = "Switchboard dev CA"): void {
  // Only the folder itself is private: parents made on the way keep the usual mode (.tmp/ is shared with other tools).
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { certFile, keyFile } = caFiles(dir);
  openssl([
    "req",
    "-x509",
    ...NEW_KEY,
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    String(CA_DAYS),
    "-subj",
    `/O=Switchboard/CN=${commonName}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE,pathlen:0",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  chmodSync(keyFile, 0o600);
}

/**
 * A key and certificate for `name`, signed by the CA of `dir`: usable as a server and as a
 * client certificate, its identity in the URI SAN. Each file is replaced by a rename (a
 * process watching them never reads half a file; a key and its old certificate side by side
 * do not make a valid context, and are skipped until the certificate follows).
 */
export function issueLeaf(dir: string, name: string, o: LeafOptions = {}): IdentityFiles {
  const ca = caFiles(dir);
  const files = identityFiles(dir, name);
  const tmp = join(dir, `.${name}.${randomBytes(4).toString("hex")}`);
  const ext = `${tmp}.ext`;
  const dns = ["localhost", ...(o.dnsNames ?? [])];
  const san = [`URI:${spiffeId(o.workload ?? name)}`, ...dns.map((d) => `DNS:${d}`), "IP:127.0.0.1", "IP:::1"].join(",");
  writeFileSync(
    ext,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      `subjectAltName=${san}`,
      "",
    ].join("\n"),
  );
  try {
    openssl(["req", ...NEW_KEY, "-keyout", `${tmp}.key`, "-out", `${tmp}.csr`, "-subj", `/O=Switchboard/CN=${o.workload ?? name}`]);
    openssl([
      "x509",
      "-req",
      "-in",
      `${tmp}.csr`,
      "-CA",
      ca.certFile,
      "-CAkey",
      ca.keyFile,
      "-set_serial",
      `0x${randomBytes(16).toString("hex")}`,
      "-days",
      String(o.days ?? LEAF_DAYS),
      "-extfile",
      ext,
      "-out",
      `${tmp}.crt`,
    ]);
    chmodSync(`${tmp}.key`, 0o600);
    renameSync(`${tmp}.key`, files.keyFile);
    renameSync(`${tmp}.crt`, files.certFile);
  } finally {
    for (const f of [ext, `${tmp}.csr`, `${tmp}.key`, `${tmp}.crt`]) rmSync(f, { force: true });
  }
  return files;
}

/** A new CA and a leaf for every component in `dir`. */
export function createDevPki(dir: string, o: { readonly dnsNames?: readonly string[] } = {}): void {
  createCa(dir);
  for (const c of COMPONENTS) issueLeaf(dir, c, { dnsNames: [c, ...(o.dnsNames ?? [])] });
}

/**
 * The dev CA of `dir`, made on first use: `make dev` keeps it across runs. A folder with the
 * CA but a missing leaf gets the leaf issued.
 */
export function ensureDevPki(dir: string, o: { readonly dnsNames?: readonly string[] } = {}): void {
  if (!existsSync(caFiles(dir).certFile) || !existsSync(caFiles(dir).keyFile)) {
    createDevPki(dir, o);
    return;
  }
  for (const c of COMPONENTS) {
    const f = identityFiles(dir, c);
    if (!existsSync(f.certFile) || !existsSync(f.keyFile)) issueLeaf(dir, c, { dnsNames: [c, ...(o.dnsNames ?? [])] });
  }
}
