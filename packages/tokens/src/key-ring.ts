import type { KeyObject } from "node:crypto";
import { publicKeyObject, type PublicSigningKey } from "./token.js";

/** The public keys a verifier currently trusts, by kid. */
export interface KeyRing {
  /** Replaces the whole set (as published by the accounts service). */
  replace(keys: readonly PublicSigningKey[]): void;
  get(kid: string): { key: KeyObject; expiresAt: number } | undefined;
  readonly size: number;
}

export function createKeyRing(): KeyRing {
  let byKid = new Map<string, { key: KeyObject; expiresAt: number }>();
  return {
    replace(keys) {
      const next = new Map<string, { key: KeyObject; expiresAt: number }>();
      for (const k of keys) {
        if (k.publicKey.length !== 32) continue;
        next.set(k.kid, { key: publicKeyObject(k.publicKey), expiresAt: k.expiresAt });
      }
      byKid = next;
    },
    get: (kid) => byKid.get(kid),
    get size() {
      return byKid.size;
    },
  };
}
