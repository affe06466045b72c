/**
 * Service-token key files for a machine of one's own (make dev, the tests): `<component>.key`
 * per component in one folder, each base64 of 32 random bytes (parseServiceTokenKey's format),
 * made once and kept. A cluster mounts its keys from Secrets instead.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Makes the missing key files of `components` in `dir` (0600, the folder 0700); returns `dir`. */
export function ensureServiceTokenKeys(dir: string, components: readonly string[]): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const c of components) {
    try {
      writeFileSync(join(dir, `${c}.key`), `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  return dir;
}
