// Runs inside the image build, with the image's own node: keeps only the uWebSockets.js binary
// for this platform, architecture and Node ABI (and drops the package's slow pure-JS fallback),
// then loads that binary, so that an image whose node or glibc cannot load it fails to build.
// A service image has no uWebSockets.js: nothing to do. Removes itself.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const pkg = join(here, "node_modules/uWebSockets.js");
if (existsSync(pkg)) {
  const keep = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  const binaries = join(pkg, "binaries");
  if (!existsSync(join(binaries, keep))) throw new Error(`uWebSockets.js has no ${keep} for this image's node ${process.versions.node}`);
  for (const f of readdirSync(binaries)) if (f !== keep) rmSync(join(binaries, f));
  for (const d of ["dist", "docs", "examples", "tests"]) rmSync(join(pkg, d), { recursive: true, force: true });
  createRequire(import.meta.url)(join(binaries, keep));
  console.log(`uWebSockets.js: ${keep} loads`);
}
rmSync(new URL(import.meta.url).pathname);
