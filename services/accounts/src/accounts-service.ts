/**
 * The accounts domain: users, logins, sessions and revocations. Every revocation is written
 * to the outbox in the same transaction, so the edges learn about it even if this process
 * dies right after the commit.
 */
import type { Db } from "@switchboard/db";
import { isUniqueViolation } from "@switchboard/db";
import { AppError, invalidArgument, isValidId, newEvent, newId, notFound, permissionDenied } from "@switchboard/model";
import { EventName, subjects, type SessionRevokedData } from "@switchboard/bus";
import { writeOutbox } from "@switchboard/outbox";
import { hashPassword, signToken, verifyPassword, type Actor } from "@switchboard/tokens";
import type { KeyManager } from "./keys/key-manager.js";
import type { LoginLimiter } from "./login/login-limiter.js";
import { SCHEMA } from "./migrations.js";
import { insertSession, liveRevocations, revokeSessions, sessionById, type SessionRow } from "./sessions/session-store.js";
import { countUsers, insertUser, listUsers, userById, userByLogin, usersByIds, usersByUsernames, type UserRow } from "./users/user-store.js";
import { normalizeUsername, validateNewUser, validateProfileField } from "./users/user-validation.js";

const MAX_IDS_PER_CALL = 1000;

export interface NewUserInput {
  username: string;
  email: string;
  password: string;
  nickname: string;
  firstName: string;
  lastName: string;
  locale: string;
  props: Record<string, unknown>;
}

const DEFAULT_NOTIFY_PROPS = {
  channel: "true",
  comments: "never",
  desktop: "mention",
  desktop_sound: "true",
  email: "true",
  first_name: "false",
  mention_keys: "",
  push: "mention",
  push_status: "away",
};

export interface AccountsServiceOptions {
  readonly db: Db;
  readonly keys: KeyManager;
  readonly sessionLengthMs: number;
  readonly openSignup: boolean;
  /** Wakes the outbox relay after a commit. */
  readonly onCommit: () => void;
  /** Failed-login limits (absent: none). */
  readonly loginLimiter?: LoginLimiter;
  /** Every refused login (audit log and metrics): why, the login_id and the client address. */
  readonly onLoginRefused?: (why: "invalid_credentials" | "inactive" | "rate_limited", loginId: string, clientIp: string) => void;
}

export function createAccountsService(o: AccountsServiceOptions) {
  const { db } = o;

  async function createUser(actor: Actor | undefined, input: NewUserInput): Promise<UserRow> {
    const username = normalizeUsername(input.username);
    const email = input.email.trim();
    validateNewUser({ username, email, password: input.password });
    validateProfileField("nickname", input.nickname, 64);
    validateProfileField("first_name", input.firstName, 64);
    validateProfileField("last_name", input.lastName, 64);
    const passwordHash = await hashPassword(input.password);
    const now = Date.now();
    try {
      return await db.tx(async (q) => {
        // Serializes signups so exactly one first user becomes system admin.
        await q.query("SELECT pg_advisory_xact_lock(hashtext('sb_accounts_signup'))");
        const first = (await countUsers(q)) === 0;
        if (!first && !o.openSignup && !actor?.isSystemAdmin) {
          throw new AppError("permission_denied", "User sign-up is disabled.", "api.user.create_user.signup_email_disabled.app_error");
        }
        const row: UserRow = {
          id: newId(),
          create_at: now,
          update_at: now,
          delete_at: 0,
          username,
          email,
          email_verified: false,
          password_hash: passwordHash,
          nickname: input.nickname,
          first_name: input.firstName,
          last_name: input.lastName,
          position: "",
          roles: first ? "system_admin system_user" : "system_user",
          locale: input.locale || "en",
          last_password_update: now,
          is_bot: false,
          notify_props: { ...DEFAULT_NOTIFY_PROPS, mention_keys: `${username},@${username}` },
          timezone: { automaticTimezone: "", manualTimezone: "", useAutomaticTimezone: "true" },
          props: input.props,
        };
        await insertUser(q, row);
        return row;
      });
    } catch (e: unknown) {
      if (isUniqueViolation(e, "users_username_key")) {
        throw new AppError("already_exists", "An account with that username already exists.", "app.user.save.username_exists.app_error");
      }
      if (isUniqueViolation(e, "users_email_key")) {
        throw new AppError("already_exists", "An account with that email already exists.", "app.user.save.email_exists.app_error");
      }
      throw e;
    }
  }

  async function getUser(id: string): Promise<UserRow> {
    if (!isValidId(id)) throw invalidArgument("api.context.invalid_url_param.app_error", "Invalid or missing user_id parameter.");
    const u = await userById(db, id);
    if (!u) throw notFound("app.user.missing_account.const", "Unable to find the user.");
    return u;
  }

  async function getUsers(ids: readonly string[]): Promise<UserRow[]> {
    if (ids.length > MAX_IDS_PER_CALL) throw invalidArgument("api.user.get_users.too_many.app_error", `At most ${MAX_IDS_PER_CALL} ids per call.`);
    if (!ids.every(isValidId)) throw invalidArgument("api.context.invalid_body_param.app_error", "Invalid or missing user_ids in request body.");
    return usersByIds(db, [...new Set(ids)]);
  }

  async function getUsersByUsernames(names: readonly string[]): Promise<UserRow[]> {
    if (names.length > MAX_IDS_PER_CALL) throw invalidArgument("api.user.get_users.too_many.app_error", `At most ${MAX_IDS_PER_CALL} usernames per call.`);
    return usersByUsernames(db, [...new Set(names.map(normalizeUsername))]);
  }

  /** A page of users by username (ids from the caller: membership lives in posts). */
  async function listUserPage(input: {
    restrictToIds: boolean;
    ids: readonly string[];
    excludeIds: readonly string[];
    term: string;
    offset: number;
    limit: number;
  }) {
    const bad = (what: string) => invalidArgument("api.context.invalid_url_param.app_error", `Invalid or missing ${what} parameter in request URL.`);
    if (!Number.isInteger(input.offset) || input.offset < 0) throw bad("page");
    if (!Number.isInteger(input.limit) || input.limit < 0 || input.limit > MAX_IDS_PER_CALL) throw bad("per_page");
    if (![...input.ids, ...input.excludeIds].every(isValidId)) throw bad("user_id");
    // LIKE's own characters are matched as themselves.
    const term = input.term
      .trim()
      .replace(/^@/, "")
      .toLowerCase()
      .replace(/[\\%_]/g, (c) => `\\${c}`);
    return listUsers(db, {
      ids: input.restrictToIds ? [...new Set(input.ids)] : undefined,
      excludeIds: input.excludeIds,
      term,
      offset: input.offset,
      limit: input.limit,
    });
  }

  async function login(loginId: string, password: string, deviceId: string, clientIp = "") {
    const refused = (why: "invalid_credentials" | "inactive" | "rate_limited", e: AppError): AppError => {
      o.onLoginRefused?.(why, loginId.slice(0, 256), clientIp);
      return e;
    };
    const invalid = () =>
      refused(
        "invalid_credentials",
        new AppError("unauthenticated", "Enter a valid email or username and/or password.", "api.user.login.invalid_credentials_email_username"),
      );
    if (clientIp.length > 64) throw invalidArgument("api.context.invalid_body_param.app_error", "Invalid client_ip.");
    if (!loginId || !password || password.length > 1024 || loginId.length > 256) throw invalid();
    let attempt;
    try {
      attempt = await o.loginLimiter?.attempt(loginId, clientIp);
    } catch (e: unknown) {
      throw e instanceof AppError && e.retryAfterMs !== undefined ? refused("rate_limited", e) : e;
    }
    const user = await userByLogin(db, loginId);
    // Hash even for unknown users, so response time does not reveal which logins exist.
    const ok = await verifyPassword(password, user?.password_hash ?? (await unknownUserHash()));
    if (!user || !ok) {
      if (attempt) await o.loginLimiter?.failed(attempt);
      throw invalid();
    }
    if (Number(user.delete_at) !== 0) {
      throw refused(
        "inactive",
        new AppError("unauthenticated", "Login failed because your account has been deactivated.", "api.user.login.inactive.app_error"),
      );
    }
    if (attempt) await o.loginLimiter?.succeeded(attempt);
    const now = Date.now();
    const session: Omit<SessionRow, "revoked_at"> = {
      id: newId(),
      user_id: user.id,
      create_at: now,
      expires_at: now + o.sessionLengthMs,
      last_activity_at: now,
      device_id: deviceId.slice(0, 512),
      roles: user.roles,
    };
    await insertSession(db, session);
    const key = await o.keys.current();
    const token = signToken({ uid: user.id, sid: session.id, roles: user.roles, iat: now, exp: session.expires_at }, key);
    return { user, session: { ...session, revoked_at: null }, token };
  }

  async function getSession(actor: Actor, sessionId: string): Promise<SessionRow> {
    if (!isValidId(sessionId)) throw invalidArgument("api.context.invalid_url_param.app_error", "Invalid or missing session_id parameter.");
    const s = await sessionById(db, sessionId);
    if (!s || (s.user_id !== actor.userId && !actor.isSystemAdmin)) throw notFound("app.session.get.app_error", "Unable to find the session.");
    return s;
  }

  /** Revokes and announces on the control stream, in one transaction. */
  async function revoke(where: { id: string } | { userId: string }): Promise<number> {
    const n = await db.tx(async (q) => {
      const revoked = await revokeSessions(q, where, Date.now());
      await writeOutbox(
        q,
        SCHEMA,
        revoked.map((s) => ({
          subject: subjects.sessionRevoked(s.user_id),
          partitionKey: s.user_id,
          event: newEvent({
            event: EventName.SessionRevoked,
            data: { session_id: s.id, user_id: s.user_id, expires_at: Number(s.expires_at), revoked_at: Number(s.revoked_at) } satisfies SessionRevokedData,
            broadcast: { userId: s.user_id },
          }),
        })),
      );
      return revoked.length;
    });
    if (n > 0) o.onCommit();
    return n;
  }

  async function revokeSession(actor: Actor, sessionId: string): Promise<void> {
    const s = await getSession(actor, sessionId);
    await revoke({ id: s.id });
  }

  async function revokeAllSessions(actor: Actor, userId: string): Promise<number> {
    if (!isValidId(userId)) throw invalidArgument("api.context.invalid_url_param.app_error", "Invalid or missing user_id parameter.");
    if (userId !== actor.userId && !actor.isSystemAdmin) {
      throw permissionDenied("api.context.permissions.app_error", "You do not have the appropriate permissions.");
    }
    return revoke({ userId });
  }

  return {
    createUser,
    getUser,
    getUsers,
    getUsersByUsernames,
    listUserPage,
    getUserByUsername: async (username: string) => {
      const [u] = await getUsersByUsernames([username]);
      if (!u) throw notFound("app.user.missing_account.const", "Unable to find the user.");
      return u;
    },
    login,
    getSession,
    revokeSession,
    revokeAllSessions,
    listRevocations: () => liveRevocations(db, Date.now()),
    signingKeys: () => o.keys.published(),
  };
}

export type AccountsService = ReturnType<typeof createAccountsService>;

let dummyHash: Promise<string> | undefined;
function unknownUserHash(): Promise<string> {
  dummyHash ??= hashPassword("not-a-real-password-" + newId());
  return dummyHash;
}
