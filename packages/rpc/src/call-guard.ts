/**
 * Who may make a call, decided before the method runs, the same on both servers: a call
 * without a verified client certificate naming a workload is UNAUTHENTICATED; a workload not
 * in the method's allowlist (allowlists/) is PERMISSION_DENIED. The caller is known per
 * connection (its TLS session), so a call costs one map lookup and one set lookup.
 */
import { status as Status } from "@grpc/grpc-js";
import type { CallStatus } from "./call.js";
import { CALLERS_BY_PATH, OPEN_TO_ANY_WORKLOAD } from "./allowlists/index.js";

export type CallGuard = (path: string, caller: string | undefined) => CallStatus | undefined;

const UNAUTHENTICATED: CallStatus = {
  code: Status.UNAUTHENTICATED,
  details: "a client certificate of a Switchboard component (URI SAN spiffe://switchboard/<component>) from the trusted CA is required",
};

/**
 * The guard of a server serving `paths`; throws when one of them has no allowlist entry
 * (a new method must say who may call it before it can be served).
 */
export function createCallGuard(paths: Iterable<string>): CallGuard {
  const allowed = new Map<string, ReadonlySet<string> | "any">();
  const missing: string[] = [];
  for (const p of paths) {
    if (OPEN_TO_ANY_WORKLOAD.test(p)) allowed.set(p, "any");
    else if (CALLERS_BY_PATH.has(p)) allowed.set(p, CALLERS_BY_PATH.get(p)!);
    else missing.push(p);
  }
  if (missing.length > 0) throw new Error(`no caller allowlist entry for ${missing.join(", ")} (packages/rpc/src/allowlists/)`);
  return (path, caller) => {
    if (caller === undefined) return UNAUTHENTICATED;
    const who = allowed.get(path);
    // An unknown path goes on to UNIMPLEMENTED, for authenticated callers only.
    if (who === undefined || who === "any" || who.has(caller)) return undefined;
    return { code: Status.PERMISSION_DENIED, details: `${caller} may not call ${path}` };
  };
}
