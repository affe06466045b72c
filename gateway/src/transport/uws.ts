/**
 * The one module that loads uWebSockets.js. The package's own loader silently falls back to
 * a slow pure-JS implementation when the native binary does not load; we load the binary
 * ourselves and refuse to run without it.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export type * as Uws from "uWebSockets.js";
import type * as UwsTypes from "uWebSockets.js";

const require = createRequire(import.meta.url);

function loadNative(): typeof UwsTypes {
  const pkgDir = dirname(require.resolve("uWebSockets.js/package.json"));
  const binary = join(pkgDir, "binaries", `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  try {
    return require(binary) as typeof UwsTypes;
  } catch (e: unknown) {
    throw new Error(
      `uWebSockets.js native binary failed to load (${binary}); refusing to run on the slow fallback. ` +
        `Node ${process.versions.node} (ABI ${process.versions.modules}) on ${process.platform}/${process.arch} with this glibc is not supported by the installed build.`,
      { cause: e },
    );
  }
}

export const uws: typeof UwsTypes = loadNative();
