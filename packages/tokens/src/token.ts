import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";

/**
 * Session tokens are JWTs signed with Ed25519 ("EdDSA"), header `kid` naming the accounts
 * service's signing key. Any component verifies them offline with the published public keys.
 */
export const TOKEN_ISSUER = "switchboard";
const MAX_TOKEN_LENGTH = 2048;
const B64URL = /^[A-Za-z0-9_-]+$/;

export interface SessionClaims {
  /** Session id. */
  readonly sid: string;
  /** User id. */
  readonly uid: string;
  /** Space-separated Mattermost roles at login ("system_user system_admin"). */
  readonly roles: string;
  /** Issued at, Unix ms. */
  readonly iat: number;
  /** Expires at, Unix ms. */
  readonly exp: number;
}

export interface PublicSigningKey {
  readonly kid: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Unix ms after which tokens signed with this key are no longer accepted. */
  readonly expiresAt: number;
  /** Unix ms from which the key signs. */
  readonly notBefore?: number;
}

export interface PrivateSigningKey {
  readonly kid: string;
  /** PKCS#8 DER. */
  readonly privateKeyDer: Uint8Array;
  readonly publicKey: Uint8Array;
}

export type TokenFailure = "malformed" | "unknown_key" | "bad_signature" | "expired" | "not_yet_valid" | "wrong_audience" | "revoked";

export class TokenError extends Error {
  override readonly name = "TokenError";
  constructor(readonly reason: TokenFailure) {
    super(`invalid session token: ${reason}`);
  }
}

export function generateSigningKey(kid: string): PrivateSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    kid,
    privateKeyDer: new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" })),
    publicKey: rawPublicKey(publicKey),
  };
}

function rawPublicKey(k: KeyObject): Uint8Array {
  const jwk = k.export({ format: "jwk" });
  return new Uint8Array(Buffer.from(jwk.x!, "base64url"));
}

export function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") }, format: "jwk" });
}

const privateKeyCache = new WeakMap<Uint8Array, KeyObject>();

export function signToken(claims: SessionClaims, key: PrivateSigningKey): string {
  let pk = privateKeyCache.get(key.privateKeyDer);
  if (!pk) {
    pk = createPrivateKey({ key: Buffer.from(key.privateKeyDer), format: "der", type: "pkcs8" });
    privateKeyCache.set(key.privateKeyDer, pk);
  }
  const header = b64json({ alg: "EdDSA", typ: "JWT", kid: key.kid });
  const payload = b64json({
    iss: TOKEN_ISSUER,
    aud: TOKEN_ISSUER,
    sub: claims.uid,
    sid: claims.sid,
    roles: claims.roles,
    iat: Math.floor(claims.iat / 1000),
    exp: Math.floor(claims.exp / 1000),
  });
  const signingInput = `${header}.${payload}`;
  const sig = sign(null, Buffer.from(signingInput), pk).toString("base64url");
  return `${signingInput}.${sig}`;
}

function b64json(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString("base64url");
}

interface Decoded {
  readonly kid: string;
  readonly signingInput: string;
  readonly signature: Buffer;
  readonly claims: SessionClaims;
  readonly iss: unknown;
  readonly aud: unknown;
}

/** Parses a token's structure without checking its signature. Throws TokenError("malformed"). */
export function decodeUnverified(token: string): Decoded {
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new TokenError("malformed");
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) throw new TokenError("malformed");
  const header = parseSegment(parts[0]!);
  const body = parseSegment(parts[1]!);
  // Only EdDSA: "none", HS256 with a public key as secret, and friends are refused outright.
  if (header.alg !== "EdDSA" || typeof header.kid !== "string" || header.kid.length === 0 || header.kid.length > 64) {
    throw new TokenError("malformed");
  }
  if (header.jku !== undefined || header.jwk !== undefined || header.x5u !== undefined) throw new TokenError("malformed");
  const { sub, sid, roles, iat, exp } = body;
  if (typeof sub !== "string" || typeof sid !== "string" || typeof roles !== "string") throw new TokenError("malformed");
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) throw new TokenError("malformed");
  return {
    kid: header.kid,
    signingInput: `${parts[0]}.${parts[1]}`,
    signature: Buffer.from(parts[2]!, "base64url"),
    claims: { uid: sub, sid, roles, iat: (iat as number) * 1000, exp: (exp as number) * 1000 },
    iss: body.iss,
    aud: body.aud,
  };
}

function parseSegment(seg: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(seg, "base64url").toString("utf8"));
  } catch {
    throw new TokenError("malformed");
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new TokenError("malformed");
  return v as Record<string, unknown>;
}

/** Checks signature, audience and time of an already decoded token against one key. */
export function verifyDecoded(d: Decoded, key: KeyObject, keyExpiresAt: number, now: number, skewMs: number): SessionClaims {
  if (d.signature.length !== 64 || !verify(null, Buffer.from(d.signingInput), key, d.signature)) {
    throw new TokenError("bad_signature");
  }
  if (d.iss !== TOKEN_ISSUER || d.aud !== TOKEN_ISSUER) throw new TokenError("wrong_audience");
  if (d.claims.exp <= now || keyExpiresAt <= now) throw new TokenError("expired");
  if (d.claims.iat > now + skewMs) throw new TokenError("not_yet_valid");
  return d.claims;
}
