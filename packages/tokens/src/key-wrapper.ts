import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Kek } from "./kek.js";

/**
 * Wraps and unwraps secret key material with a key-encryption key named by id. This is the
 * seam a KMS implements (its key ids, its wrap/unwrap calls); createAesGcmKeyWrapper is the
 * implementation with KEKs held in memory.
 */
export interface KeyWrapper {
  /** The KEK that wraps new material. */
  readonly activeKekId: string;
  hasKek(kekId: string): boolean;
  /** `aad` (the identity of what is wrapped) must be given again, byte for byte, to unwrap. */
  wrap(plaintext: Uint8Array, aad: Uint8Array): Promise<{ kekId: string; wrapped: Uint8Array }>;
  /** Rejects with KeyUnwrapError: unknown KEK, wrong KEK, or wrapped bytes or aad altered. */
  unwrap(kekId: string, wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

export type KeyUnwrapFailure = "unknown_kek" | "authentication_failed";

export class KeyUnwrapError extends Error {
  override readonly name = "KeyUnwrapError";
  constructor(
    readonly reason: KeyUnwrapFailure,
    readonly kekId: string,
  ) {
    super(
      reason === "unknown_kek"
        ? `KEK "${kekId}" is not configured`
        : `unwrapping with KEK "${kekId}" failed authentication: the KEK is not the one the material was wrapped with, or the stored bytes were altered`,
    );
  }
}

const VERSION = 1;
const NONCE = 12;
const TAG = 16;

/**
 * AES-256-GCM (node:crypto). Wrapped form: version byte, 12-byte random nonce, ciphertext,
 * 16-byte tag. The associated data is the KEK id and the caller's aad, so material cannot be
 * moved to another row or relabelled with another KEK id without failing authentication.
 */
export function createAesGcmKeyWrapper(keks: readonly Kek[]): KeyWrapper {
  if (keks.length === 0) throw new Error("at least one KEK is required");
  const byId = new Map(keks.map((k) => [k.id, Buffer.from(k.key)]));
  const active = keks[0]!.id;
  const fullAad = (kekId: string, aad: Uint8Array) => Buffer.concat([Buffer.from(`sb-kek:${kekId}\0`), aad]);
  return {
    activeKekId: active,
    hasKek: (id) => byId.has(id),
    wrap(plaintext, aad) {
      const nonce = randomBytes(NONCE);
      const c = createCipheriv("aes-256-gcm", byId.get(active)!, nonce);
      c.setAAD(fullAad(active, aad));
      const body = Buffer.concat([c.update(plaintext), c.final()]);
      return Promise.resolve({ kekId: active, wrapped: new Uint8Array(Buffer.concat([Buffer.from([VERSION]), nonce, body, c.getAuthTag()])) });
    },
    unwrap(kekId, wrapped, aad) {
      const key = byId.get(kekId);
      if (!key) return Promise.reject(new KeyUnwrapError("unknown_kek", kekId));
      const w = Buffer.from(wrapped);
      if (w.length < 1 + NONCE + TAG || w[0] !== VERSION) return Promise.reject(new KeyUnwrapError("authentication_failed", kekId));
      try {
        const d = createDecipheriv("aes-256-gcm", key, w.subarray(1, 1 + NONCE));
        d.setAAD(fullAad(kekId, aad));
        d.setAuthTag(w.subarray(w.length - TAG));
        return Promise.resolve(new Uint8Array(Buffer.concat([d.update(w.subarray(1 + NONCE, w.length - TAG)), d.final()])));
      } catch {
        return Promise.reject(new KeyUnwrapError("authentication_failed", kekId));
      }
    },
  };
}
