import type { SessionAuth } from "@switchboard/auth";
import type { CallContext } from "@switchboard/rpc";
import type { Call } from "../deps.js";

/** The domain's view of one gRPC call: who calls (from its token), its token, signal and deadline. */
export async function callOf(auth: SessionAuth, ctx: CallContext): Promise<Call> {
  const actor = await auth.actor(ctx);
  return { actor, token: ctx.bearerToken() ?? "", signal: ctx.signal, deadline: ctx.deadline };
}
