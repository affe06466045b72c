/**
 * Usernames from the accounts service (sender_name, @mentions, checking users exist), asked
 * with the caller's own token and remembered for a short while, so a post costs no call to
 * accounts in the common case. Unknown usernames are remembered too: "@foo" in a message
 * must not cost a round trip per post.
 */
import type { User } from "@switchboard/proto/accounts";
import type { AccountsClient } from "@switchboard/rpc";
import { createTtlCache } from "../ttl-cache.js";

interface UserSummary {
  readonly id: string;
  readonly username: string;
  /** 0 for active users. */
  readonly deleteAt: number;
}

export interface UserDirectory {
  /** The users that exist among `ids`. */
  byIds(ids: readonly string[], token: string): Promise<Map<string, UserSummary>>;
  /** The users that exist among `usernames` (lower-case), keyed by username. */
  byUsernames(usernames: readonly string[], token: string): Promise<Map<string, UserSummary>>;
  /** The full profiles of `ids` that exist (thread participants shown to followers), remembered like the rest. */
  profiles(ids: readonly string[], token: string): Promise<Map<string, User>>;
}

export interface UserDirectoryOptions {
  readonly accounts: AccountsClient;
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly deadlineMs: number;
  readonly now?: () => number;
}

export function createUserDirectory(o: UserDirectoryOptions): UserDirectory {
  const now = o.now ?? Date.now;
  const ids = createTtlCache<UserSummary | null>(o.maxEntries, now);
  const names = createTtlCache<UserSummary | null>(o.maxEntries, now);
  const profiles = createTtlCache<User | null>(o.maxEntries, now);
  const remember = (u: UserSummary): void => {
    ids.set(u.id, u, o.ttlMs);
    names.set(u.username, u, o.ttlMs);
  };
  const summary = (u: { id: string; username: string; deleteAt: bigint }): UserSummary => ({ id: u.id, username: u.username, deleteAt: Number(u.deleteAt) });

  return {
    async byIds(wanted, token) {
      const out = new Map<string, UserSummary>();
      const missing: string[] = [];
      for (const id of new Set(wanted)) {
        const hit = ids.get(id);
        if (!hit) missing.push(id);
        else if (hit.value) out.set(id, hit.value);
      }
      if (missing.length > 0) {
        const { users } = await o.accounts.getUsers({ userIds: missing }, { token, deadlineMs: o.deadlineMs });
        for (const u of users.map(summary)) {
          remember(u);
          out.set(u.id, u);
        }
        for (const id of missing) if (!out.has(id)) ids.set(id, null, o.ttlMs);
      }
      return out;
    },
    async profiles(wanted, token) {
      const out = new Map<string, User>();
      const missing: string[] = [];
      for (const id of new Set(wanted)) {
        const hit = profiles.get(id);
        if (!hit) missing.push(id);
        else if (hit.value) out.set(id, hit.value);
      }
      if (missing.length > 0) {
        const { users } = await o.accounts.getUsers({ userIds: missing }, { token, deadlineMs: o.deadlineMs });
        for (const u of users) {
          profiles.set(u.id, u, o.ttlMs);
          remember(summary(u));
          out.set(u.id, u);
        }
        for (const id of missing) if (!out.has(id)) profiles.set(id, null, o.ttlMs);
      }
      return out;
    },
    async byUsernames(wanted, token) {
      const out = new Map<string, UserSummary>();
      const missing: string[] = [];
      for (const name of new Set(wanted)) {
        const hit = names.get(name);
        if (!hit) missing.push(name);
        else if (hit.value) out.set(name, hit.value);
      }
      if (missing.length > 0) {
        const { users } = await o.accounts.getUsersByUsernames({ usernames: missing }, { token, deadlineMs: o.deadlineMs });
        for (const u of users.map(summary)) {
          remember(u);
          out.set(u.username, u);
        }
        for (const name of missing) if (!out.has(name)) names.set(name, null, o.ttlMs);
      }
      return out;
    },
  };
}
