/**
 * Failed logins, limited per login_id and per client address, for the whole cluster: every
 * accounts replica counts in one PostgreSQL table (`login_attempts`), in fixed windows.
 *
 * An attempt is counted before its password is checked (one atomic upsert for both keys), so
 * a burst of concurrent guesses cannot all slip under the limit; a successful login then
 * takes its attempt back (the address) and clears the login_id's count, as Mattermost resets
 * FailedAttempts. Over a limit the password is not checked at all: the answer is a rate-limit
 * error with the time until the window ends.
 */
import type { Queryable } from "@switchboard/db";
import { rateLimited } from "@switchboard/model";

export interface LoginLimits {
  /** Failed attempts per login_id in one window (0 = no limit). */
  readonly perLogin: number;
  /** Failed attempts per client address in one window (0 = no limit). */
  readonly perIp: number;
  readonly windowMs: number;
}

/** What a reservation counted, to be taken back by `succeeded`. */
interface LoginAttempt {
  readonly windowStart: number;
  readonly keys: readonly string[];
}

export interface LoginLimiter {
  /** Counts one attempt; throws the rate-limit error when a key is over its limit. */
  attempt(loginId: string, clientIp: string): Promise<LoginAttempt>;
  /** The attempt's password was right: it does not count against anyone. */
  succeeded(a: LoginAttempt): Promise<void>;
}

/** Rows of windows older than this many windows are deleted (at most once per window). */
const KEEP_WINDOWS = 2;

function loginKeys(loginId: string, clientIp: string, limits: LoginLimits): { key: string; limit: number }[] {
  const keys: { key: string; limit: number }[] = [];
  if (limits.perLogin > 0) keys.push({ key: `login:${loginId.trim().toLowerCase()}`, limit: limits.perLogin });
  if (limits.perIp > 0 && clientIp !== "") keys.push({ key: `ip:${clientIp}`, limit: limits.perIp });
  return keys;
}

export function createLoginLimiter(o: { db: Queryable; limits: LoginLimits; now?: () => number; onLimited?: (kind: "login" | "ip") => void }): LoginLimiter {
  const now = o.now ?? Date.now;
  const { windowMs } = o.limits;
  let prunedWindow = 0;

  async function prune(windowStart: number): Promise<void> {
    if (prunedWindow === windowStart) return;
    prunedWindow = windowStart;
    await o.db.query(`DELETE FROM login_attempts WHERE window_start < $1`, [windowStart - KEEP_WINDOWS * windowMs]);
  }

  return {
    async attempt(loginId, clientIp) {
      const keys = loginKeys(loginId, clientIp, o.limits);
      const t = now();
      const windowStart = t - (t % windowMs);
      if (keys.length === 0) return { windowStart, keys: [] };
      const { rows } = await o.db.query<{ key: string; attempts: number }>(
        `INSERT INTO login_attempts (key, window_start, attempts)
           SELECT k, $2, 1 FROM unnest($1::text[]) AS k
         ON CONFLICT (key, window_start) DO UPDATE SET attempts = login_attempts.attempts + 1
         RETURNING key, attempts`,
        [keys.map((k) => k.key), windowStart],
      );
      void prune(windowStart).catch(() => undefined);
      for (const k of keys) {
        const row = rows.find((r) => r.key === k.key);
        if (row && Number(row.attempts) > k.limit) {
          o.onLimited?.(k.key.startsWith("ip:") ? "ip" : "login");
          throw rateLimited("api.context.rate_limit.app_error", "Too many failed login attempts. Try again later.", windowStart + windowMs - t);
        }
      }
      return { windowStart, keys: keys.map((k) => k.key) };
    },
    async succeeded(a) {
      if (a.keys.length === 0) return;
      await o.db.query(
        `UPDATE login_attempts SET attempts = CASE WHEN key LIKE 'login:%' THEN 0 ELSE GREATEST(attempts - 1, 0) END
          WHERE window_start = $2 AND key = ANY($1::text[])`,
        [a.keys, a.windowStart],
      );
    },
  };
}
