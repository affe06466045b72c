#!/usr/bin/env node
// Fails when a workspace imports another workspace (`@switchboard/*`) without declaring it in its
// package.json. The other package boundaries (deployables independent, nothing on bench, each
// SDK in its one home, no deep imports, no cycles, third-party imports declared) are
// dependency-cruiser rules (.dependency-cruiser.cjs). This one is not: workspace packages are
// symlinks that resolve to the workspace's own files, and dependency-cruiser then cannot tell
// whether the importing package.json declares them.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
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

for (const ws of rootPkg.workspaces) {
  const pkg = JSON.parse(readFileSync(join(root, ws, "package.json"), "utf8"));
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
  for (const f of [...files(join(root, ws, "src")), ...files(join(root, ws, "test"))]) {
    const text = readFileSync(f, "utf8");
    const re =
      /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](@switchboard\/[^/"']+)[^"']*["']|import\(\s*["'](@switchboard\/[^/"']+)[^"']*["']\s*\)|(?:^|\n)\s*import\s+["'](@switchboard\/[^/"']+)[^"']*["']/g;
    for (let m; (m = re.exec(text));) {
      const name = m[1] ?? m[2] ?? m[3];
      if (name !== pkg.name && !declared.has(name)) problems.push(`${relative(root, f)} imports ${name}, not declared in ${ws}/package.json`);
    }
  }
}

if (problems.length > 0) {
  console.error(`workspace dependency check failed:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(`workspace dependencies declared (${rootPkg.workspaces.length} workspaces)`);
