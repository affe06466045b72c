import type { Db } from "@switchboard/db";
import { AppError } from "@switchboard/model";
import type { CallContext } from "@switchboard/rpc";
import { actorFromClaims, createKeyRing, createRevocationSet, createSessionVerifier, TokenError, type Actor } from "@switchboard/tokens";
import type { KeyManager } from "./keys/key-manager.js";
import { sessionById } from "./sessions/session-store.js";

export interface LocalAuth {
  /** The verified caller, or undefined when the call carries no token. Throws on a bad token. */
  optionalActor(ctx: CallContext): Promise<Actor | undefined>;
  actor(ctx: CallContext): Promise<Actor>;
}

/**
 * The accounts service verifies tokens like everyone else (signature, expiry) and, being the
 * owner of sessions, also checks the session row so a revoked session is refused at once.
 */
export function createLocalAuth(o: { db: Db; keys: KeyManager }): LocalAuth {
  const ring = createKeyRing();
  const verifier = createSessionVerifier({
    keys: ring,
    revocations: createRevocationSet(),
    refreshKeys: async () => ring.replace(await o.keys.published()),
    refreshIntervalMs: 1_000,
  });
  const unauthenticated = (why: string) =>
    new AppError("unauthenticated", `Invalid or expired session, please login again. (${why})`, "api.context.session_expired.app_error");

  async function optionalActor(ctx: CallContext): Promise<Actor | undefined> {
    const token = ctx.bearerToken();
    if (token === undefined) return undefined;
    try {
      const claims = await verifier.verify(token);
      const s = await sessionById(o.db, claims.sid);
      if (!s || s.revoked_at !== null || Number(s.expires_at) <= Date.now()) throw new TokenError("revoked");
      return actorFromClaims(claims);
    } catch (e: unknown) {
      if (e instanceof TokenError) throw unauthenticated(e.reason);
      throw e;
    }
  }
  return {
    optionalActor,
    async actor(ctx) {
      const a = await optionalActor(ctx);
      if (!a) throw unauthenticated("no token");
      return a;
    },
  };
}
