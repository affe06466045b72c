#!/usr/bin/env node
// Fails when a package crosses the architecture's boundaries:
// - deployables (services/*, gateway) never depend on or import each other;
// - shared packages never depend on a deployable; nothing depends on bench;
// - each third-party SDK lives in exactly one package (see SDK_HOMES);
// - every bare import in src/ and test/ is declared in the importing package's package.json;
// - no deep imports into another package's files.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { builtinModules } from "node:module";

const root = new URL("..", import.meta.url).pathname;
const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const DEPLOYABLES = new Set(["@switchboard/accounts", "@switchboard/posts", "@switchboard/presence", "@switchboard/gateway"]);
const SDK_HOMES = {
  "@nats-io/transport-node": ["@switchboard/bus"],
  "@nats-io/jetstream": ["@switchboard/bus"],
  "@nats-io/kv": ["@switchboard/bus"],
  "@grpc/grpc-js": ["@switchboard/rpc"],
  "uWebSockets.js": ["@switchboard/gateway", "@switchboard/bench"],
  "prom-client": ["@switchboard/metrics"],
  "@electric-sql/pglite": ["@switchboard/db"],
  pg: ["@switchboard/db", "@switchboard/testkit", "@switchboard/bench"],
  pino: ["@switchboard/log"],
};
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const problems = [];

function files(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e === "node_modules" || e === "dist" || e === "gen") continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(files(p));
    else if (/\.(ts|mts|js|mjs)$/.test(e) && !e.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

function bare(spec) {
  if (spec.startsWith(".") || spec.startsWith("/") || builtins.has(spec)) return undefined;
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

for (const ws of rootPkg.workspaces) {
  const pkg = JSON.parse(readFileSync(join(root, ws, "package.json"), "utf8"));
  const name = pkg.name;
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
  const isDeployable = DEPLOYABLES.has(name);
  for (const dep of declared) {
    if (dep === "@switchboard/bench") problems.push(`${name} depends on @switchboard/bench`);
    if (DEPLOYABLES.has(dep) && dep !== name) {
      problems.push(isDeployable ? `deployable ${name} depends on deployable ${dep}` : `shared package ${name} depends on deployable ${dep}`);
    }
    const homes = SDK_HOMES[dep];
    if (homes && !homes.includes(name)) problems.push(`${name} depends on ${dep}, which belongs in ${homes.join(" or ")}`);
  }
  for (const f of [...files(join(root, ws, "src")), ...files(join(root, ws, "test"))]) {
    const text = readFileSync(f, "utf8");
    const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
    for (let m; (m = re.exec(text)); ) {
      const spec = m[1] ?? m[2];
      const b = bare(spec);
      if (!b) continue;
      const where = relative(root, f);
      const isTest = /\.test\.ts$/.test(f);
      const rootDev = isTest && b in (rootPkg.devDependencies ?? {});
      if (b !== name && !declared.has(b) && !rootDev) problems.push(`${where} imports ${b}, not declared in ${ws}/package.json`);
      if (b.startsWith("@switchboard/") && /\/(src|dist|lib)(\/|$)/.test(spec.slice(b.length))) problems.push(`${where} deep-imports ${spec}`);
      if (DEPLOYABLES.has(b) && b !== name) problems.push(`${where} imports deployable ${b}`);
    }
  }
}

if (problems.length > 0) {
  console.error(`package boundary check failed:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(`package boundaries ok (${rootPkg.workspaces.length} workspaces)`);
