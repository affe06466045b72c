/** Sessions revoked before their tokens expire; entries leave once the token would have expired. */
export interface RevocationSet {
  add(sessionId: string, expiresAt: number): void;
  has(sessionId: string): boolean;
  /** Drops entries whose tokens have expired anyway. */
  prune(now: number): void;
  readonly size: number;
}

export function createRevocationSet(): RevocationSet {
  const expiry = new Map<string, number>();
  return {
    add(sessionId, expiresAt) {
      const prev = expiry.get(sessionId) ?? 0;
      expiry.set(sessionId, Math.max(prev, expiresAt));
    },
    has: (sessionId) => expiry.has(sessionId),
    prune(now) {
      for (const [sid, exp] of expiry) if (exp <= now) expiry.delete(sid);
    },
    get size() {
      return expiry.size;
    },
  };
}
