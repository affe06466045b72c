/**
 * What both servers (h2-server.ts, grpc-js-server.ts) share for service identity: the TLS
 * identity from the configured files, the caller named by a verified peer certificate, and
 * the methods of the plaintext health port.
 */
import type { PeerCertificate } from "node:tls";
import { workloadOfSubjectAltName } from "@switchboard/pki";
import type { MethodHandler } from "./call.js";
import type { ResolvedServerOptions } from "./server-seam.js";
import { createTokenVerifier, type TokenVerifier } from "./service-token.js";
import { TlsIdentity } from "./tls-identity.js";

/** The server's identity when it serves TLS; throws at once on unusable files. */
export function serverIdentity(o: ResolvedServerOptions): TlsIdentity | undefined {
  if (o.tls === undefined) return undefined;
  return new TlsIdentity(o.tls, o.tls.reloadIntervalMs, (e) => o.logger.warn({ err: e }, "rotated TLS files not taken up (the previous ones stay in use)"));
}

/** The workload a peer certificate names, or undefined (none, or not verified by the caller of this). */
export function callerOfCertificate(cert: PeerCertificate | undefined): string | undefined {
  return cert === undefined ? undefined : workloadOfSubjectAltName(cert.subjectaltname);
}

const HEALTH_PREFIX = "/grpc.health.v1.Health/";

/** grpc.health.v1 alone: what the plaintext health port serves. */
export function healthMethods(all: ReadonlyMap<string, MethodHandler>): Map<string, MethodHandler> {
  return new Map([...all].filter(([path]) => path.startsWith(HEALTH_PREFIX)));
}

/** How a server names the caller of a call when it serves TLS with service tokens, or undefined (mTLS: the certificate). */
export function tokenVerifier(o: ResolvedServerOptions): TokenVerifier | undefined {
  return o.tls !== undefined && o.serviceTokenKeys !== undefined ? createTokenVerifier(o.serviceTokenKeys) : undefined;
}
