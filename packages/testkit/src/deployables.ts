import { existsSync } from "node:fs";
import { join } from "node:path";
import { rpcAuthEnv } from "./pki.js";
import { spawnProcess, type ChildHandle } from "./process.js";
import { withTestKek } from "./test-kek.js";
import { repoRoot } from "./repo-root.js";

export { repoRoot };

export type DeployableName = "accounts" | "posts" | "presence" | "gateway";

/**
 * The built entry point of a deployable (`make build` / `npm run build` first), in this
 * repository or in another built tree (`root`: an older build, buildAtCommit).
 */
export function deployableEntry(name: DeployableName, root: string = repoRoot()): string {
  const entry = name === "gateway" ? join(root, "gateway/dist/main.js") : join(root, `services/${name}/dist/main.js`);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` (make test does) before integration tests`);
  return entry;
}

const ENV_PREFIX: Record<Exclude<DeployableName, "gateway">, string> = { accounts: "SB_ACCOUNTS", posts: "SB_POSTS", presence: "SB_PRESENCE" };

/**
 * What every deployable a test starts has unless the test says otherwise: its component's
 * certificate from the test run's CA (mTLS on every gRPC port), or with `auth` token its
 * service-token keys (rpcAuthEnv), and any free port for the plaintext health port of a service.
 */
export function deployableTestEnv(name: DeployableName, auth: "mtls" | "token" = "mtls"): Record<string, string> {
  return { ...rpcAuthEnv(name, auth), ...(name === "gateway" ? {} : { [`${ENV_PREFIX[name]}_GRPC_HEALTH_PORT`]: "0" }) };
}

/**
 * Runs a deployable as its own process, the way it runs in production, and waits for its
 * "ready" log line (which reports the ports it bound). It has its component's certificate
 * from the test run's CA (deployableTestEnv), or its service-token keys when `env` says
 * SB_RPC_AUTH=token, and accounts the process's test KEK (test-kek.ts), unless `env` names others.
 */
export function spawnDeployable(
  name: DeployableName,
  env: Readonly<Record<string, string>>,
  nodeArgs?: readonly string[],
  onLine?: (line: string) => void,
  root?: string,
): Promise<ChildHandle> {
  const auth = env.SB_RPC_AUTH === "token" ? "token" : "mtls";
  return spawnProcess({
    entry: deployableEntry(name, root),
    env: name === "accounts" ? withTestKek({ ...deployableTestEnv(name, auth), ...env }) : { ...deployableTestEnv(name, auth), ...env },
    ...(nodeArgs ? { nodeArgs } : {}),
    ...(onLine ? { onLine } : {}),
  });
}
