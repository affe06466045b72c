/**
 * The CA a client trusts, from a mounted file, for a client that presents no certificate of its
 * own (service tokens, service-token.ts): a grpc-js CertificateProvider of the CA alone, read
 * at start (a file that is not a usable CA fails at once, naming it) and read again when it
 * changes, so a rotated CA is taken up without a restart, as TlsIdentity does for a whole set.
 */
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { createSecureContext } from "node:tls";
import type { experimental } from "@grpc/grpc-js";
import { DEFAULT_TLS_RELOAD_INTERVAL_MS } from "./tls-identity.js";

function readCa(file: string): Buffer {
  const ca = readFileSync(file);
  createSecureContext({ ca }); // throws on unparsable PEM
  return ca;
}

export class TrustedCa implements experimental.CertificateProvider {
  private current: Buffer;
  private readonly listeners = new Set<experimental.CaCertificateUpdateListener>();

  constructor(
    readonly caFile: string,
    private readonly reloadIntervalMs: number = DEFAULT_TLS_RELOAD_INTERVAL_MS,
  ) {
    try {
      this.current = readCa(caFile);
    } catch (e: unknown) {
      throw new Error(`TLS CA ${caFile} is unusable: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  addCaCertificateListener(l: experimental.CaCertificateUpdateListener): void {
    if (this.listeners.size === 0) watchFile(this.caFile, { interval: this.reloadIntervalMs, persistent: false }, this.reload);
    this.listeners.add(l);
    process.nextTick(l, { caCertificate: this.current });
  }

  removeCaCertificateListener(l: experimental.CaCertificateUpdateListener): void {
    this.listeners.delete(l);
    if (this.listeners.size === 0) unwatchFile(this.caFile, this.reload);
  }

  /** No identity: the client presents no certificate. */
  addIdentityCertificateListener(): void {}
  removeIdentityCertificateListener(): void {}

  close(): void {
    this.listeners.clear();
    unwatchFile(this.caFile, this.reload);
  }

  private readonly reload = (): void => {
    let ca: Buffer;
    try {
      ca = readCa(this.caFile);
    } catch {
      // A half-written file: the last good CA stays, and the file is read again shortly. Waiting
      // for its next change is not enough: the rest of the write may keep the mtime the polling
      // saw (a CI run's client stayed on the old CA for 15 s after a copy).
      setTimeout(this.reload, this.reloadIntervalMs).unref();
      return;
    }
    if (ca.equals(this.current)) return;
    this.current = ca;
    for (const l of this.listeners) l({ caCertificate: ca });
  };
}
