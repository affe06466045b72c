/**
 * Signed service tokens: the other way (beside a client certificate) a component names itself
 * to a gRPC server. Each component has a key of its own (HMAC-SHA256); it signs short-lived
 * tokens `v1.<component>.<expires ms>.<signature>` and sends one with every call as metadata
 * (SERVICE_TOKEN_HEADER) over server-authenticated TLS. The server holds every component's key,
 * takes the caller from a token that verifies and has not expired, and applies the same
 * per-method allowlists (call-guard.ts). Verified tokens are remembered until they expire, so
 * a call costs a map lookup once its caller's token is known.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SERVICE_TOKEN_HEADER = "sb-service-token";
const VERSION = "v1";
/** A token longer-lived than this is refused, whatever it says. */
const MAX_TOKEN_TTL_MS = 10 * 60_000;
const REMEMBERED = 1_024;

/** The shortest key accepted: HMAC-SHA256 wants at least as many bytes as it outputs. */
const MIN_KEY_BYTES = 32;

/**
 * A component's key as a key file holds it: base64 (or base64url) of at least 32 random bytes
 * (`openssl rand -base64 32`), surrounding whitespace ignored. Errors name `source`, never the
 * content.
 */
export function parseServiceTokenKey(text: string, source: string): Uint8Array {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) throw new Error(`${source} does not hold a base64 key (make one with: openssl rand -base64 32)`);
  const key = Buffer.from(t, t.includes("-") || t.includes("_") ? "base64url" : "base64");
  if (key.length < MIN_KEY_BYTES) throw new Error(`${source} holds a key of ${key.length} bytes; at least ${MIN_KEY_BYTES} are required`);
  return key;
}

function signature(key: Uint8Array, payload: string): Buffer {
  return createHmac("sha256", key).update(payload).digest();
}

/** A token naming `component`, valid for `ttlMs` from `now`. */
export function signServiceToken(component: string, key: Uint8Array, ttlMs: number, now = Date.now()): string {
  const payload = `${VERSION}.${component}.${now + ttlMs}`;
  return `${payload}.${signature(key, payload).toString("base64url")}`;
}

/** A signer that reuses its token until half of its life has passed. */
export function createTokenSigner(component: string, key: Uint8Array, ttlMs = 5 * 60_000): () => string {
  if (ttlMs > MAX_TOKEN_TTL_MS) throw new Error(`service tokens live at most ${MAX_TOKEN_TTL_MS} ms`);
  let token = "";
  let renewAt = 0;
  return () => {
    const now = Date.now();
    if (now >= renewAt) {
      token = signServiceToken(component, key, ttlMs, now);
      renewAt = now + ttlMs / 2;
    }
    return token;
  };
}

/** The component a token names, or undefined (absent, malformed, unknown signer, bad signature, expired). */
export type TokenVerifier = (token: string | undefined) => string | undefined;

export function createTokenVerifier(keys: ReadonlyMap<string, Uint8Array>): TokenVerifier {
  const known = new Map<string, { caller: string; expires: number }>();
  return (token) => {
    if (token === undefined) return undefined;
    const now = Date.now();
    const hit = known.get(token);
    if (hit !== undefined) {
      if (hit.expires > now) return hit.caller;
      known.delete(token);
      return undefined;
    }
    const parts = token.split(".");
    if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
    const [, caller, exp, sig] = parts as [string, string, string, string];
    const key = keys.get(caller);
    const expires = Number(exp);
    if (key === undefined || !/^\d{1,15}$/.test(exp) || expires <= now || expires > now + MAX_TOKEN_TTL_MS) return undefined;
    const want = signature(key, `${VERSION}.${caller}.${exp}`);
    const got = Buffer.from(sig, "base64url");
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    if (known.size >= REMEMBERED) known.clear();
    known.set(token, { caller, expires });
    return caller;
  };
}
