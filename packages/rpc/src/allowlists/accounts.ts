/** Who may call accounts (sb.accounts.v1.AccountsService), method by method. */
import type { AccountsService } from "@switchboard/proto/accounts";
import type { Allowlist } from "./allowlist.js";

export const accountsAllowlist: Allowlist<(typeof AccountsService)["method"]> = {
  // The REST and WebSocket edge: sign-up, login, user lookups, sessions.
  createUser: ["gateway"],
  getUser: ["gateway"],
  getUsers: ["gateway", "posts"],
  getUserByUsername: ["gateway"],
  getUsersByUsernames: ["gateway", "posts"],
  login: ["gateway"],
  getSession: ["gateway"],
  revokeSession: ["gateway"],
  revokeAllSessions: ["gateway"],
  // The webapp's user lists and autocomplete, and the user's own preferences (REST).
  listUsers: ["gateway"],
  getPreferences: ["gateway"],
  savePreferences: ["gateway"],
  deletePreferences: ["gateway"],
  // Author names for posts (user-directory.ts).
  // Session verification (packages/auth) in every component but accounts.
  listSigningKeys: ["gateway", "posts", "presence"],
  listRevocations: ["gateway", "posts", "presence"],
};
