/** Session verification (signing keys from accounts, revocations from the bus); readiness "session-keys" follows the keys. */
import { createSessionAuth, type SessionAuth } from "@switchboard/auth";
import type { Bus } from "@switchboard/bus";
import type { Runtime } from "@switchboard/runtime";
import type { AccountsClient } from "@switchboard/rpc";

export async function startSessionAuth(rt: Runtime, accounts: AccountsClient, bus: Bus): Promise<SessionAuth> {
  rt.readiness.set("session-keys", false);
  const auth = await rt.lifecycle.start(createSessionAuth({ accounts, bus, log: rt.log }));
  void auth.whenReady().then(() => rt.readiness.set("session-keys", true));
  return auth;
}
