#!/usr/bin/env node
// `make images`: builds localhost/switchboard-<name>:<version> for each deployable from the one
// Dockerfile (one target each), with docker when a docker daemon answers, else with podman
// (SB_IMAGE_ENGINE=docker|podman picks one).
// <version> is the deployable's package.json version and the git revision (…-dirty when the tree
// has changes). With podman, the base is made from this machine's own node (node-base.sh), since
// no image can be pulled here; with docker, the Dockerfile's default BASE. Each context is staged
// first (stage.mjs): no network in the build. Writes .tmp/images/built.json (name → image).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deployables, stage } from "./stage.mjs";
import { containersEnv } from "./containers-env.mjs";

const root = new URL("../..", import.meta.url).pathname;
const git = (...args) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
const revision = git("rev-parse", "HEAD");
const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
const source = process.env.SB_IMAGE_SOURCE ?? "https://github.com/switchboard/switchboard";
const only = process.argv.slice(2);
const names = only.length ? only : Object.keys(deployables);

const chosen = process.env.SB_IMAGE_ENGINE || undefined;
if (chosen && chosen !== "docker" && chosen !== "podman") throw new Error(`SB_IMAGE_ENGINE=${chosen}: docker or podman`);
const docker = chosen ? chosen === "docker" : spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;
const engine = docker ? "docker" : "podman";
const env = docker ? process.env : { ...process.env, ...containersEnv(root) };
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
};
const out = (cmd, args) => execFileSync(cmd, args, { cwd: root, env, encoding: "utf8" }).trim();

const started = Date.now();
const buildArgs = [];
if (!docker) {
  const base = `localhost/switchboard-node-base:${process.versions.node}`;
  if (spawnSync("podman", ["image", "exists", base], { env }).status !== 0) run("bash", [join(root, "scripts/images/node-base.sh"), base]);
  buildArgs.push("--pull=never", "--build-arg", `BASE=${base}`);
}
/** The OCI labels of one image. */
const labels = (version) => ({
  "org.opencontainers.image.source": source,
  "org.opencontainers.image.revision": revision,
  "org.opencontainers.image.version": version,
});
const builtFile = join(root, ".tmp/images/built.json");
/** Images built before (when only some are rebuilt now) stay listed. */
const built = existsSync(builtFile) ? JSON.parse(readFileSync(builtFile, "utf8")) : {};
for (const name of names) {
  if (!deployables[name]) throw new Error(`no deployable ${name}: one of ${Object.keys(deployables).join(", ")}`);
  const pkg = JSON.parse(readFileSync(join(root, deployables[name], "package.json"), "utf8"));
  const version = `${pkg.version}-${revision.slice(0, 12)}${dirty ? "-dirty" : ""}`;
  const image = `localhost/switchboard-${name}:${version}`;
  const t0 = Date.now();
  stage(name, join(root, ".tmp/images", name));
  run(engine, [
    "build",
    ...buildArgs,
    "--target",
    name,
    "--build-arg",
    `VERSION=${version}`,
    "--build-arg",
    `REVISION=${revision}`,
    "--build-arg",
    `SOURCE=${source}`,
    ...Object.entries(labels(version)).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    "--tag",
    image,
    "--file",
    "Dockerfile",
    ".",
  ]);
  if (!docker) {
    // buildah 1.28 keys its layer cache without build-arg or --label values: when the files did
    // not change, it hands back the image an earlier revision built, with that revision's labels.
    // Set them on the image afresh.
    const ctr = out("buildah", ["from", "--pull-never", "--quiet", image]);
    run("buildah", ["config", ...Object.entries(labels(version)).flatMap(([k, v]) => ["--label", `${k}=${v}`]), ctr]);
    run("buildah", ["commit", "--quiet", "--rm", ctr, image]);
  }
  const size = Number(out(engine, ["image", "inspect", "--format", "{{.Size}}", image]));
  built[name] = { image, sizeBytes: size, buildSeconds: (Date.now() - t0) / 1000 };
}
mkdirSync(join(root, ".tmp/images"), { recursive: true });
writeFileSync(builtFile, JSON.stringify(built, null, 2) + "\n");
console.log(`\nbuilt with ${engine} in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
for (const name of names) {
  const b = built[name];
  console.log(`  ${b.image.padEnd(60)} ${(b.sizeBytes / 1e6).toFixed(0).padStart(4)} MB  ${b.buildSeconds.toFixed(1)} s`);
}
