/**
 * Who may make a call, decided before the method runs, the same on both servers: a call
 * without a verified credential naming a workload (a client certificate with mTLS, a signed
 * service token in token mode) is UNAUTHENTICATED, with a message naming what that mode wants;
 * a workload not in the method's allowlist (allowlists/) is PERMISSION_DENIED. The caller is
 * known per connection (its TLS session) or per token (remembered once verified), so a call
 * costs one map lookup and one set lookup.
 */
import { status as Status } from "@grpc/grpc-js";
import type { CallStatus } from "./call.js";
import { CALLERS_BY_PATH, OPEN_TO_ANY_WORKLOAD } from "./allowlists/index.js";
import type { RpcAuthMode } from "./server-seam.js";
import { SERVICE_TOKEN_HEADER } from "./service-token.js";

export type CallGuard = (path: string, caller: string | undefined) => CallStatus | undefined;

/** What a caller lacks, in each mode: the server asks for one credential only. */
const UNAUTHENTICATED: Record<RpcAuthMode, CallStatus> = {
  mtls: {
    code: Status.UNAUTHENTICATED,
    details: "a client certificate of a Switchboard component (URI SAN spiffe://switchboard/<component>) from the trusted CA is required",
  },
  token: {
    code: Status.UNAUTHENTICATED,
    details: `a service token of a Switchboard component is required (metadata ${SERVICE_TOKEN_HEADER}: v1.<component>.<expires ms>.<signature>, unexpired, signed with a key this server holds for that component); client certificates are not used in this mode`,
  },
};

/**
 * The guard of a server serving `paths` with callers authenticated by `auth`; throws when one
 * of them has no allowlist entry (a new method must say who may call it before it can be served).
 */
export function createCallGuard(paths: Iterable<string>, auth: RpcAuthMode): CallGuard {
  const unauthenticated = UNAUTHENTICATED[auth];
  const allowed = new Map<string, ReadonlySet<string> | "any">();
  const missing: string[] = [];
  for (const p of paths) {
    if (OPEN_TO_ANY_WORKLOAD.test(p)) allowed.set(p, "any");
    else if (CALLERS_BY_PATH.has(p)) allowed.set(p, CALLERS_BY_PATH.get(p)!);
    else missing.push(p);
  }
  if (missing.length > 0) throw new Error(`no caller allowlist entry for ${missing.join(", ")} (packages/rpc/src/allowlists/)`);
  return (path, caller) => {
    if (caller === undefined) return unauthenticated;
    const who = allowed.get(path);
    // An unknown path goes on to UNIMPLEMENTED, for authenticated callers only.
    if (who === undefined || who === "any" || who.has(caller)) return undefined;
    return { code: Status.PERMISSION_DENIED, details: `${caller} may not call ${path}` };
  };
}
