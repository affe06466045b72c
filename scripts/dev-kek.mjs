// The dev key-encryption key of accounts for `make dev` and `make cluster`: .data/accounts-kek,
// made on the first run (never committed: .data/ is ignored), so a database that outlives one
// run opens under the next. None when SB_ACCOUNTS_KEK or SB_ACCOUNTS_KEK_FILE is set.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The environment that gives accounts the dev KEK ({} when the caller's environment names one). */
export function devKekEnv(root) {
  if (process.env.SB_ACCOUNTS_KEK) return { SB_ACCOUNTS_KEK: process.env.SB_ACCOUNTS_KEK };
  if (process.env.SB_ACCOUNTS_KEK_FILE) return { SB_ACCOUNTS_KEK_FILE: process.env.SB_ACCOUNTS_KEK_FILE };
  const file = join(root, ".data/accounts-kek");
  if (!existsSync(file)) {
    mkdirSync(join(root, ".data"), { recursive: true });
    writeFileSync(file, `dev-${Date.now().toString(36)}:${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    console.log(`made a dev KEK for accounts in ${file}`);
  }
  return { SB_ACCOUNTS_KEK_FILE: file };
}
