/**
 * A process's TLS identity from mounted files (the CA it trusts, its certificate and key),
 * read at start and read again whenever one of the files changes, so rotated certificates
 * are taken up without a restart. A set that does not make a valid context (a certificate
 * already replaced but its key not yet, say) is skipped until the next change; the last
 * good set stays in use.
 *
 * It is a grpc-js CertificateProvider (clients and the grpc-js server take their secure
 * context from it) and tells our own HTTP/2 server of each new set (h2-server.ts).
 */
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { createSecureContext } from "node:tls";
import type { experimental } from "@grpc/grpc-js";
import type { IdentityFiles } from "@switchboard/pki";

export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** How often the files are checked for a change (fs.watchFile polls: it follows the symlink swaps of Kubernetes secrets). */
export const DEFAULT_TLS_RELOAD_INTERVAL_MS = 5_000;

function readMaterial(f: IdentityFiles): TlsMaterial {
  const m = { ca: readFileSync(f.caFile), cert: readFileSync(f.certFile), key: readFileSync(f.keyFile) };
  createSecureContext(m); // throws on a key that does not match its certificate, or unparsable PEM
  return m;
}

export class TlsIdentity implements experimental.CertificateProvider {
  private current: TlsMaterial;
  private readonly caListeners = new Set<experimental.CaCertificateUpdateListener>();
  private readonly identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();
  private readonly changeListeners = new Set<(m: TlsMaterial) => void>();
  private watching = false;

  /** Throws (naming the files) when they cannot be read or do not make a valid TLS context. */
  constructor(
    readonly files: IdentityFiles,
    private readonly reloadIntervalMs: number = DEFAULT_TLS_RELOAD_INTERVAL_MS,
    private readonly onReloadFailed: (e: unknown) => void = () => {},
  ) {
    try {
      this.current = readMaterial(files);
    } catch (e: unknown) {
      throw new Error(`TLS identity ${files.certFile} (key ${files.keyFile}, CA ${files.caFile}) is unusable: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  get material(): TlsMaterial {
    return this.current;
  }

  /** Calls `fn` with every new set of files from now on (until close). */
  onChange(fn: (m: TlsMaterial) => void): void {
    this.changeListeners.add(fn);
    this.watch();
  }

  /** Stops watching the files. */
  close(): void {
    this.changeListeners.clear();
    this.caListeners.clear();
    this.identityListeners.clear();
    this.unwatch();
  }

  addCaCertificateListener(l: experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(l);
    process.nextTick(l, { caCertificate: this.current.ca });
    this.watch();
  }

  removeCaCertificateListener(l: experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(l);
    this.maybeUnwatch();
  }

  addIdentityCertificateListener(l: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(l);
    process.nextTick(l, { certificate: this.current.cert, privateKey: this.current.key });
    this.watch();
  }

  removeIdentityCertificateListener(l: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(l);
    this.maybeUnwatch();
  }

  private readonly reload = (): void => {
    let m: TlsMaterial;
    try {
      m = readMaterial(this.files);
    } catch (e: unknown) {
      this.onReloadFailed(e);
      // Read again shortly (a half-written file whose rest may keep the mtime the polling saw).
      if (this.watching) setTimeout(this.reload, this.reloadIntervalMs).unref();
      return;
    }
    if (m.ca.equals(this.current.ca) && m.cert.equals(this.current.cert) && m.key.equals(this.current.key)) return;
    this.current = m;
    for (const l of this.caListeners) l({ caCertificate: m.ca });
    for (const l of this.identityListeners) l({ certificate: m.cert, privateKey: m.key });
    for (const l of this.changeListeners) l(m);
  };

  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    // persistent: false — watching never keeps a process alive.
    for (const f of [this.files.caFile, this.files.certFile, this.files.keyFile])
      watchFile(f, { interval: this.reloadIntervalMs, persistent: false }, this.reload);
  }

  private maybeUnwatch(): void {
    if (this.caListeners.size + this.identityListeners.size + this.changeListeners.size === 0) this.unwatch();
  }

  private unwatch(): void {
    if (!this.watching) return;
    this.watching = false;
    for (const f of [this.files.caFile, this.files.certFile, this.files.keyFile]) unwatchFile(f, this.reload);
  }
}
