import { create } from "@bufbuild/protobuf";
import { UserSchema, type User } from "@switchboard/proto/accounts";
import type { Queryable } from "@switchboard/db";
import { jsonBytes } from "@switchboard/model";

export interface UserRow {
  id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  username: string;
  email: string;
  email_verified: boolean;
  password_hash: string;
  nickname: string;
  first_name: string;
  last_name: string;
  position: string;
  roles: string;
  locale: string;
  last_password_update: number;
  is_bot: boolean;
  notify_props: Record<string, unknown>;
  timezone: Record<string, unknown>;
  props: Record<string, unknown>;
}

const COLUMNS =
  "id, create_at, update_at, delete_at, username, email, email_verified, password_hash, nickname, first_name, last_name, position, roles, locale, last_password_update, is_bot, notify_props, timezone, props";

export function userToProto(r: UserRow): User {
  return create(UserSchema, {
    id: r.id,
    createAt: BigInt(r.create_at),
    updateAt: BigInt(r.update_at),
    deleteAt: BigInt(r.delete_at),
    username: r.username,
    email: r.email,
    emailVerified: r.email_verified,
    nickname: r.nickname,
    firstName: r.first_name,
    lastName: r.last_name,
    position: r.position,
    roles: r.roles,
    locale: r.locale,
    lastPasswordUpdate: BigInt(r.last_password_update),
    isBot: r.is_bot,
    notifyPropsJson: jsonBytes(r.notify_props),
    timezoneJson: jsonBytes(r.timezone),
    propsJson: jsonBytes(r.props),
  });
}

export async function insertUser(q: Queryable, r: UserRow): Promise<void> {
  await q.query(`INSERT INTO users (${COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)`, [
    r.id,
    r.create_at,
    r.update_at,
    r.delete_at,
    r.username,
    r.email,
    r.email_verified,
    r.password_hash,
    r.nickname,
    r.first_name,
    r.last_name,
    r.position,
    r.roles,
    r.locale,
    r.last_password_update,
    r.is_bot,
    JSON.stringify(r.notify_props),
    JSON.stringify(r.timezone),
    JSON.stringify(r.props),
  ]);
}

export async function countUsers(q: Queryable): Promise<number> {
  return (await q.query<{ n: number }>("SELECT count(*)::int AS n FROM users")).rows[0]!.n;
}

export async function userById(q: Queryable, id: string): Promise<UserRow | undefined> {
  return (await q.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id])).rows[0];
}

export async function usersByIds(q: Queryable, ids: readonly string[]): Promise<UserRow[]> {
  if (ids.length === 0) return [];
  return (await q.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = ANY($1::text[])`, [ids])).rows;
}

export async function usersByUsernames(q: Queryable, usernames: readonly string[]): Promise<UserRow[]> {
  if (usernames.length === 0) return [];
  return (await q.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE username = ANY($1::text[])`, [usernames])).rows;
}

/** By username or email, case-insensitively (Mattermost's login_id). */
export async function userByLogin(q: Queryable, loginId: string): Promise<UserRow | undefined> {
  const v = loginId.trim().toLowerCase();
  return (await q.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE username = $1 OR lower(email) = $1 LIMIT 1`, [v])).rows[0];
}

export interface UserListQuery {
  /** Only these ids (when set), less `excludeIds`. */
  readonly ids: readonly string[] | undefined;
  readonly excludeIds: readonly string[];
  /** Lower-case prefix of the username, first or last name or nickname; empty for any. */
  readonly term: string;
  readonly offset: number;
  readonly limit: number;
}

/** A page of users sorted by username (Mattermost's user lists and autocomplete). */
export async function listUsers(q: Queryable, o: UserListQuery): Promise<UserRow[]> {
  if (o.limit === 0 || (o.ids !== undefined && o.ids.length === 0)) return [];
  const r = await q.query<UserRow>(
    `SELECT ${COLUMNS} FROM users
      WHERE ($1::text[] IS NULL OR id = ANY($1::text[]))
        AND NOT (id = ANY($2::text[]))
        AND ($3 = '' OR username LIKE $3 || '%' OR lower(first_name) LIKE $3 || '%' OR lower(last_name) LIKE $3 || '%' OR lower(nickname) LIKE $3 || '%')
      ORDER BY username
      LIMIT $4 OFFSET $5`,
    [o.ids ?? null, o.excludeIds, o.term, o.limit, o.offset],
  );
  return r.rows;
}
