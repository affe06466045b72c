/**
 * The key-encryption key of the accounts services a test process starts: one random KEK per
 * process, never written anywhere. spawnDeployable gives it to accounts unless the caller's
 * environment names a KEK of its own, and seeding (seed-users.ts) opens the stored signing
 * key with it, as accounts does.
 */
import { formatKeks, generateKek } from "@switchboard/tokens";

let kek: string | undefined;

/** The process's test KEK, in SB_ACCOUNTS_KEK's form. */
export function testKek(): string {
  kek ??= formatKeks([generateKek("test")]);
  return kek;
}

/** `env` with the test KEK added, unless it names a KEK (SB_ACCOUNTS_KEK or SB_ACCOUNTS_KEK_FILE) already. */
export function withTestKek(env: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  if (env.SB_ACCOUNTS_KEK || env.SB_ACCOUNTS_KEK_FILE) return env;
  return { ...env, SB_ACCOUNTS_KEK: testKek() };
}
