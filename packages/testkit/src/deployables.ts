import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnProcess, type ChildHandle } from "./process.js";
import { withTestKek } from "./test-kek.js";

export type DeployableName = "accounts" | "posts" | "presence" | "gateway";

/** The repository root (the folder with the workspaces' package.json). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, "tsconfig.base.json"))) return dir;
    dir = resolve(dir, "..");
  }
  throw new Error("repository root not found");
}

/**
 * The built entry point of a deployable (`make build` / `npm run build` first), in this
 * repository or in another built tree (`root`: an older build, buildAtCommit).
 */
export function deployableEntry(name: DeployableName, root: string = repoRoot()): string {
  const entry = name === "gateway" ? join(root, "gateway/dist/main.js") : join(root, `services/${name}/dist/main.js`);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` (make test does) before integration tests`);
  return entry;
}

/**
 * Runs a deployable as its own process, the way it runs in production, and waits for its
 * "ready" log line (which reports the ports it bound). accounts gets the process's test KEK
 * (test-kek.ts) unless `env` names one.
 */
export function spawnDeployable(
  name: DeployableName,
  env: Readonly<Record<string, string>>,
  nodeArgs?: readonly string[],
  onLine?: (line: string) => void,
  root?: string,
): Promise<ChildHandle> {
  return spawnProcess({
    entry: deployableEntry(name, root),
    env: name === "accounts" ? withTestKek(env) : env,
    ...(nodeArgs ? { nodeArgs } : {}),
    ...(onLine ? { onLine } : {}),
  });
}
