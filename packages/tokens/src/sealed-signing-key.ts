import type { KeyWrapper } from "./key-wrapper.js";
import type { PrivateSigningKey } from "./token.js";

/**
 * A signing key as it is stored: its private half wrapped by a KEK, bound to the row's
 * identity (kid and public key), so the stored bytes neither sign anything nor open under
 * another row's identity.
 */
export interface SealedSigningKey {
  readonly kid: string;
  readonly publicKey: Uint8Array;
  readonly kekId: string;
  readonly sealed: Uint8Array;
}

function identity(kid: string, publicKey: Uint8Array): Uint8Array {
  return Buffer.from(`sb-signing-key/v1\0${kid}\0${Buffer.from(publicKey).toString("base64url")}`);
}

export async function sealSigningKey(w: KeyWrapper, key: PrivateSigningKey): Promise<SealedSigningKey> {
  const { kekId, wrapped } = await w.wrap(key.privateKeyDer, identity(key.kid, key.publicKey));
  return { kid: key.kid, publicKey: key.publicKey, kekId, sealed: wrapped };
}

/** Rejects with KeyUnwrapError when the KEK is unknown or wrong, or the row was altered. */
export async function openSigningKey(w: KeyWrapper, s: SealedSigningKey): Promise<PrivateSigningKey> {
  const der = await w.unwrap(s.kekId, s.sealed, identity(s.kid, s.publicKey));
  return { kid: s.kid, privateKeyDer: der, publicKey: s.publicKey };
}
