// The build context of one deployable's image, staged from this tree's installed node_modules
// (no network in the image build): the deployable's package.json and dist/, and every package
// it needs at run time, reached through `dependencies` (and optional ones) only — never
// devDependencies — at the same places as in this tree, so Node resolves them as here. Workspace
// packages bring their package.json and dist/ (no declarations, no sources, no tests).
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";

const root = realpathSync(new URL("../..", import.meta.url).pathname);

/** Where each deployable lives in the tree. */
export const deployables = { gateway: "gateway", posts: "services/posts", accounts: "services/accounts", presence: "services/presence" };

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));

/** The directory Node would load `name` from when required from `fromDir` (walking up node_modules). */
function resolvePackage(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dir === root || dir === dirname(dir)) return undefined;
  }
}

/** Declarations only (some packages list them as dependencies): never loaded at run time. */
const typesOnly = (name) => name.startsWith("@types/") || name === "undici-types";

/** Each package directory (relative to the tree) the deployable needs at run time, and the workspace links among them. */
function runtimeClosure(deployable) {
  const start = join(root, deployables[deployable]);
  const packages = new Map(); // real dir relative to root -> isWorkspace
  const links = new Map(); // node_modules path relative to root -> real dir relative to root (workspaces)
  const queue = [start];
  packages.set(relative(root, start), true);
  while (queue.length) {
    const dir = queue.shift();
    const pkg = readJson(join(dir, "package.json"));
    const peers = Object.keys(pkg.peerDependencies ?? {}).filter((n) => !pkg.peerDependenciesMeta?.[n]?.optional);
    const names = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...peers];
    for (const name of names) {
      if (typesOnly(name)) continue;
      const found = resolvePackage(name, dir);
      if (!found) {
        if (pkg.optionalDependencies?.[name] !== undefined) continue;
        throw new Error(`${name}, a dependency of ${pkg.name}, is not installed: run npm ci`);
      }
      const real = realpathSync(found);
      const workspace = !relative(root, real).split(sep).includes("node_modules");
      if (workspace) links.set(relative(root, found), relative(root, real));
      if (packages.has(relative(root, real))) continue;
      packages.set(relative(root, real), workspace);
      queue.push(real);
    }
  }
  return { packages, links };
}

/** Stages the context under `out` (replacing it); returns the number of packages staged. */
export function stage(deployable, out) {
  rmSync(out, { recursive: true, force: true });
  const { packages, links } = runtimeClosure(deployable);
  for (const [dir, workspace] of packages) {
    const from = join(root, dir);
    const to = join(out, dir);
    if (workspace) {
      mkdirSync(to, { recursive: true });
      cpSync(join(from, "package.json"), join(to, "package.json"));
      cpSync(join(from, "dist"), join(to, "dist"), {
        recursive: true,
        filter: (src) => !/\.d\.ts(\.map)?$|\.test\.js(\.map)?$|\.tsbuildinfo$/.test(src),
      });
    } else {
      // The package without its nested node_modules: those it needs are staged on their own.
      cpSync(from, to, { recursive: true, filter: (src) => relative(from, src).split(sep)[0] !== "node_modules" });
    }
  }
  for (const [link, target] of links) {
    mkdirSync(dirname(join(out, link)), { recursive: true });
    symlinkSync(relative(dirname(join(out, link)), join(out, target)), join(out, link));
  }
  // Run at build time inside the image (keep-native.mjs), then removed.
  cpSync(join(root, "scripts/images/keep-native.mjs"), join(out, "keep-native.mjs"));
  writeFileSync(join(out, "package.json"), JSON.stringify({ name: "switchboard-image", private: true, type: "module" }, null, 2) + "\n");
  return packages.size;
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [name, out] = process.argv.slice(2);
  if (!deployables[name] || !out) {
    console.error(`usage: stage.mjs <${Object.keys(deployables).join("|")}> <out dir>`);
    process.exit(2);
  }
  console.log(`${name}: ${stage(name, out)} packages staged in ${out}`);
}
