/**
 * NATS users and their secrets: generated per run (tests, `make dev`, `make cluster`) or per
 * deployment, never committed. A component reads its own from SB_NATS_USER with
 * SB_NATS_PASSWORD, or SB_NATS_PASSWORD_FILE (read again at every reconnect, so a rotated
 * password takes effect without a restart).
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deployableRoles, type NatsRole } from "./permissions.js";

export interface NatsUser {
  readonly role: NatsRole;
  readonly user: string;
  readonly password: string;
}

export type NatsUsers = Readonly<Partial<Record<NatsRole, NatsUser>>>;

/** A fresh random password (24 bytes, URL-safe base64: no quoting troubles in any file). */
export function newNatsPassword(): string {
  return randomBytes(24).toString("base64url");
}

/** One user per role, named after it, each with a fresh password. */
export function generateNatsUsers(roles: readonly NatsRole[] = deployableRoles): NatsUsers {
  const out: Partial<Record<NatsRole, NatsUser>> = {};
  for (const role of roles) out[role] = { role, user: role, password: newNatsPassword() };
  return out;
}

/** The same users with new passwords (a rotation). */
export function rotateNatsPasswords(users: NatsUsers): NatsUsers {
  const out: Partial<Record<NatsRole, NatsUser>> = {};
  for (const u of Object.values(users)) out[u.role] = { ...u, password: newNatsPassword() };
  return out;
}

/** The environment a component connects with: its user and the file holding its password. */
export function natsUserEnv(u: NatsUser, passwordFile?: string): Record<string, string> {
  return passwordFile ? { SB_NATS_USER: u.user, SB_NATS_PASSWORD_FILE: passwordFile } : { SB_NATS_USER: u.user, SB_NATS_PASSWORD: u.password };
}

/** Writes each user's password to `<dir>/<user>.password` (mode 0600); returns the paths by role. */
export function writePasswordFiles(dir: string, users: NatsUsers): Partial<Record<NatsRole, string>> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: Partial<Record<NatsRole, string>> = {};
  for (const u of Object.values(users)) {
    const file = join(dir, `${u.user}.password`);
    writeFileSync(file, u.password + "\n", { mode: 0o600 });
    chmodSync(file, 0o600);
    out[u.role] = file;
  }
  return out;
}

/**
 * The users of a deployment or a data directory: each role's password from
 * `<dir>/<role>.password` when the file exists, a fresh one (written there) when not. So
 * `make dev` keeps its passwords with its data, and a deployment's are whatever its secret
 * store mounted there.
 */
export function loadOrCreateNatsUsers(
  dir: string,
  roles: readonly NatsRole[] = deployableRoles,
): { users: NatsUsers; files: Partial<Record<NatsRole, string>> } {
  const out: Partial<Record<NatsRole, NatsUser>> = {};
  const missing: Partial<Record<NatsRole, NatsUser>> = {};
  for (const role of roles) {
    const file = join(dir, `${role}.password`);
    const password = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
    if (password) out[role] = { role, user: role, password };
    else missing[role] = out[role] = { role, user: role, password: newNatsPassword() };
  }
  writePasswordFiles(dir, missing);
  const files: Partial<Record<NatsRole, string>> = {};
  for (const role of roles) files[role] = join(dir, `${role}.password`);
  return { users: out, files };
}
