/**
 * How a component authenticates on gRPC, from its settings (SB_RPC_AUTH, SB_RPC_TLS_*,
 * SB_RPC_TOKEN_KEYS_DIR; settings.ts): the options of its server and of its clients. Every
 * port is TLS with the component's certificate. With mTLS a caller presents its certificate;
 * in token mode it presents none and signs a short-lived service token with its own key
 * (@switchboard/rpc's service-token.ts), which the services it calls verify with the keys
 * they hold. What a mode needs is checked at start, so a misconfigured process does not start.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { COMPONENTS, type Component as Workload, workloadOfSubjectAltName } from "@switchboard/pki";
import { createTokenSigner, parseServiceTokenKey, type RpcAuthMode, type RpcClientOptions, type RpcServerOptions } from "@switchboard/rpc";

/** A component's gRPC identity (commonSettings: SB_RPC_AUTH, SB_RPC_TLS_*, SB_RPC_TOKEN_KEYS_DIR). */
export interface RpcAuthSettings {
  readonly rpcAuth: RpcAuthMode;
  readonly rpcTokenKeysDir: string;
  readonly rpcTlsCaFile: string;
  readonly rpcTlsCertFile: string;
  readonly rpcTlsKeyFile: string;
  readonly rpcTlsReloadMs: number;
}

/**
 * Fails the start of `component` when its certificate names another workload (a secret
 * mounted on the wrong deployment): its callers would refuse it, its calls be denied.
 */
function checkRpcIdentity(component: string, s: RpcAuthSettings): void {
  let named: string | undefined;
  try {
    named = workloadOfSubjectAltName(new X509Certificate(readFileSync(s.rpcTlsCertFile)).subjectAltName);
  } catch (e: unknown) {
    throw new Error(`SB_RPC_TLS_CERT_FILE ${s.rpcTlsCertFile} is unusable: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (named !== component) throw new Error(`SB_RPC_TLS_CERT_FILE ${s.rpcTlsCertFile} names ${named ?? "no spiffe://switchboard/ workload"}, not ${component}`);
}

function keyFile(s: RpcAuthSettings, component: string): string {
  return join(s.rpcTokenKeysDir, `${component}.key`);
}

/** A key file's key; errors name the file (SB_RPC_TOKEN_KEYS_DIR), never the key. */
function readKey(file: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e: unknown) {
    throw new Error(
      `SB_RPC_AUTH=token: the service-token key ${file} (SB_RPC_TOKEN_KEYS_DIR) is unreadable: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
  return parseServiceTokenKey(text, `SB_RPC_AUTH=token: the service-token key ${file} (SB_RPC_TOKEN_KEYS_DIR)`);
}

/** The client options of `component`'s calls to one service. */
export type RpcCallerOptions = Pick<RpcClientOptions, "tls" | "serviceToken">;

/**
 * How `component` calls the services: given the service called, the TLS and token options of
 * its client. mTLS: its certificate, checked to name it. Token mode: the CA alone (no
 * certificate presented) and a token signed with its key, renewed at half its life.
 */
export function rpcCaller(component: Workload, s: RpcAuthSettings): (server: Workload) => RpcCallerOptions {
  const ca = { caFile: s.rpcTlsCaFile, reloadIntervalMs: s.rpcTlsReloadMs };
  if (s.rpcAuth === "token") {
    const serviceToken = createTokenSigner(component, readKey(keyFile(s, component)));
    return (server) => ({ tls: { ...ca, server }, serviceToken });
  }
  checkRpcIdentity(component, s);
  return (server) => ({ tls: { ...ca, certFile: s.rpcTlsCertFile, keyFile: s.rpcTlsKeyFile, server } });
}

/** The authentication options of `component`'s server, and (token mode) the components whose tokens it takes. */
export function rpcServerAuth(
  component: string,
  s: RpcAuthSettings,
): Pick<RpcServerOptions, "tls" | "serviceTokenKeys"> & { readonly tokenCallers?: string[] } {
  checkRpcIdentity(component, s);
  const tls = { caFile: s.rpcTlsCaFile, certFile: s.rpcTlsCertFile, keyFile: s.rpcTlsKeyFile, reloadIntervalMs: s.rpcTlsReloadMs };
  if (s.rpcAuth !== "token") return { tls };
  const keys = new Map<string, Uint8Array>();
  for (const c of COMPONENTS) if (existsSync(keyFile(s, c))) keys.set(c, readKey(keyFile(s, c)));
  if (keys.size === 0) {
    throw new Error(
      `SB_RPC_AUTH=token: SB_RPC_TOKEN_KEYS_DIR ${s.rpcTokenKeysDir} holds no key of a component that may call ${component} (<component>.key, of ${COMPONENTS.join(", ")})`,
    );
  }
  return { tls, serviceTokenKeys: keys, tokenCallers: [...keys.keys()] };
}
