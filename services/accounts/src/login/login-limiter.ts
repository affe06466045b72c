/**
 * Failed logins, limited per login_id and per client address for the whole cluster: every
 * accounts replica counts in one PostgreSQL table (`login_attempts`), in fixed windows.
 *
 * - Per login_id, an attempt is counted before its password is checked (one atomic upsert),
 *   so a burst of concurrent guesses at one account stops exactly at the limit; the right
 *   password then clears the count, as Mattermost resets FailedAttempts.
 * - Per address, only failures count (checked before, counted after the password check), so
 *   many people logging in at once behind one NAT are never refused; a burst of concurrent
 *   guesses from one address can overshoot the limit by the attempts already in flight.
 *
 * Over a limit the password is not checked at all: the answer is a rate-limit error with the
 * time until the window ends.
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

/** One attempt's keys in its window. */
interface LoginAttempt {
  readonly windowStart: number;
  readonly loginKey: string | undefined;
  readonly ipKey: string | undefined;
}

export interface LoginLimiter {
  /** Counts one attempt at the login_id; throws the rate-limit error when a key is over its limit. */
  attempt(loginId: string, clientIp: string): Promise<LoginAttempt>;
  /** The password was wrong: the address's count goes up. */
  failed(a: LoginAttempt): Promise<void>;
  /** The password was right: the login_id's failures are forgotten. */
  succeeded(a: LoginAttempt): Promise<void>;
}

/** Rows of windows older than this many windows are deleted (at most once per window and replica). */
const KEEP_WINDOWS = 2;
const ID = "api.context.rate_limit.app_error";
const MESSAGE = "Too many failed login attempts. Try again later.";

export function createLoginLimiter(o: { db: Queryable; limits: LoginLimits; now?: () => number; onLimited?: (key: "login" | "ip") => void }): LoginLimiter {
  const now = o.now ?? Date.now;
  const { windowMs, perLogin, perIp } = o.limits;
  let prunedWindow = 0;

  const count = async (key: string, windowStart: number): Promise<number> => {
    const { rows } = await o.db.query<{ attempts: number }>(
      `INSERT INTO login_attempts (key, window_start, attempts) VALUES ($1, $2, 1)
       ON CONFLICT (key, window_start) DO UPDATE SET attempts = login_attempts.attempts + 1
       RETURNING attempts`,
      [key, windowStart],
    );
    return Number(rows[0]!.attempts);
  };
  const set = (key: string, windowStart: number, sql: string): Promise<unknown> =>
    o.db.query(`UPDATE login_attempts SET ${sql} WHERE key = $1 AND window_start = $2`, [key, windowStart]);

  return {
    async attempt(loginId, clientIp) {
      const t = now();
      const windowStart = t - (t % windowMs);
      const retryAfter = windowStart + windowMs - t;
      if (prunedWindow !== windowStart) {
        prunedWindow = windowStart;
        void o.db.query(`DELETE FROM login_attempts WHERE window_start < $1`, [windowStart - KEEP_WINDOWS * windowMs]).catch(() => undefined);
      }
      const a: LoginAttempt = {
        windowStart,
        loginKey: perLogin > 0 ? `login:${loginId.trim().toLowerCase()}` : undefined,
        ipKey: perIp > 0 && clientIp !== "" ? `ip:${clientIp}` : undefined,
      };
      if (a.loginKey && (await count(a.loginKey, windowStart)) > perLogin) {
        o.onLimited?.("login");
        throw rateLimited(ID, MESSAGE, retryAfter);
      }
      if (a.ipKey) {
        const { rows } = await o.db.query<{ attempts: number }>(`SELECT attempts FROM login_attempts WHERE key = $1 AND window_start = $2`, [
          a.ipKey,
          windowStart,
        ]);
        if (Number(rows[0]?.attempts ?? 0) >= perIp) {
          // Not this login_id's doing: its attempt is taken back.
          if (a.loginKey) await set(a.loginKey, windowStart, "attempts = GREATEST(attempts - 1, 0)");
          o.onLimited?.("ip");
          throw rateLimited(ID, MESSAGE, retryAfter);
        }
      }
      return a;
    },
    async failed(a) {
      if (a.ipKey) await count(a.ipKey, a.windowStart);
    },
    async succeeded(a) {
      if (a.loginKey) await set(a.loginKey, a.windowStart, "attempts = 0");
    },
  };
}
