/**
 * Who is calling, from the bearer token, verified offline by the shared session verifier
 * (accounts' published keys, the revocation stream; verified tokens are cached).
 *
 * Until the verifier has loaded the revocations a revoked token could pass, so a call that
 * arrives that early waits for it (within the call's deadline) instead of being let through.
 */
import type { SessionAuth } from "@switchboard/auth";
import { AppError } from "@switchboard/model";
import type { CallContext } from "@switchboard/rpc";
import type { Actor } from "@switchboard/tokens";
import { abortedCall } from "../errors.js";

export interface CallerAuth {
  /** The caller; rejects with UNAUTHENTICATED without a valid token. */
  actor(ctx: CallContext): Promise<Actor>;
  /** The caller when a token is present (and valid), undefined for internal calls without one. */
  optionalActor(ctx: CallContext): Promise<Actor | undefined>;
}

function untilReady(auth: SessionAuth, signal: AbortSignal): Promise<void> {
  if (auth.ready) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(abortedCall(signal));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    auth.whenReady().then(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
      (e: unknown) => reject(AppError.from(e)),
    );
  });
}

export function createCallerAuth(auth: SessionAuth): CallerAuth {
  return {
    async actor(ctx) {
      await untilReady(auth, ctx.signal);
      return auth.actor(ctx);
    },
    async optionalActor(ctx) {
      if (ctx.bearerToken() === undefined) return undefined;
      await untilReady(auth, ctx.signal);
      return auth.actor(ctx);
    },
  };
}
