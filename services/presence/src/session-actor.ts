import type { SessionAuth } from "@switchboard/auth";
import type { CallContext } from "@switchboard/rpc";
import type { Actor } from "@switchboard/tokens";
import { notReady } from "./errors.js";

/**
 * The caller of a user-facing call. Until the session verifier has loaded the signing keys and
 * the revocations, calls wait a little and then fail UNAVAILABLE: a revoked session must not
 * slip through while the revocation list is still loading.
 */
export function sessionActor(auth: SessionAuth, maxWaitMs = 2_000): (ctx: CallContext) => Promise<Actor> {
  return async (ctx) => {
    if (!auth.ready) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([auth.whenReady(), new Promise<void>((r) => (timer = setTimeout(r, Math.min(maxWaitMs, Math.max(0, ctx.deadline - Date.now())))))]);
      clearTimeout(timer);
      if (!auth.ready) throw notReady("session verification");
    }
    return auth.actor(ctx);
  };
}
