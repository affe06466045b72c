import type { KeyRing } from "./key-ring.js";
import type { RevocationSet } from "./revocation-set.js";
import { decodeUnverified, TokenError, verifyDecoded, type SessionClaims } from "./token.js";

export interface SessionVerifierOptions {
  readonly keys: KeyRing;
  readonly revocations: RevocationSet;
  /** Fetches the current public keys into `keys` (called when a token names an unknown kid). */
  readonly refreshKeys: () => Promise<void>;
  /** Minimum time between refreshes caused by unknown kids. */
  readonly refreshIntervalMs?: number;
  readonly clockSkewMs?: number;
  /** Verified tokens remembered, so a signature is checked once per token, not per request. */
  readonly cacheSize?: number;
  readonly now?: () => number;
}

export interface SessionVerifier {
  /** Resolves the claims of a valid, unexpired, unrevoked token; rejects with TokenError. */
  verify(token: string): Promise<SessionClaims>;
  /** Synchronous check of a token verified before (cache hit), undefined if not cached. */
  verifyCached(token: string): SessionClaims | undefined;
}

export function createSessionVerifier(o: SessionVerifierOptions): SessionVerifier {
  const now = o.now ?? Date.now;
  const skew = o.clockSkewMs ?? 30_000;
  const cacheSize = o.cacheSize ?? 50_000;
  const refreshInterval = o.refreshIntervalMs ?? 5_000;
  const cache = new Map<string, SessionClaims>();
  let lastRefresh = 0;
  let refreshing: Promise<void> | undefined;

  const checkLive = (c: SessionClaims): SessionClaims => {
    if (c.exp <= now()) throw new TokenError("expired");
    if (o.revocations.has(c.sid)) throw new TokenError("revoked");
    return c;
  };

  const refresh = async (): Promise<void> => {
    if (now() - lastRefresh < refreshInterval) return;
    refreshing ??= o.refreshKeys().finally(() => {
      lastRefresh = now();
      refreshing = undefined;
    });
    await refreshing;
  };

  return {
    verifyCached(token) {
      const c = cache.get(token);
      return c ? checkLive(c) : undefined;
    },
    async verify(token) {
      const cached = cache.get(token);
      if (cached) return checkLive(cached);
      const d = decodeUnverified(token);
      let key = o.keys.get(d.kid);
      if (!key) {
        await refresh();
        key = o.keys.get(d.kid);
        if (!key) throw new TokenError("unknown_key");
      }
      const claims = checkLive(verifyDecoded(d, key.key, key.expiresAt, now(), skew));
      if (cache.size >= cacheSize) {
        // Maps iterate in insertion order: drop the oldest entry.
        cache.delete(cache.keys().next().value!);
      }
      cache.set(token, claims);
      return claims;
    },
  };
}
