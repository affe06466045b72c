import { create } from "@bufbuild/protobuf";
import { SessionSchema, type Session } from "@switchboard/proto/accounts";
import type { Queryable } from "@switchboard/db";

export interface SessionRow {
  id: string;
  user_id: string;
  create_at: number;
  expires_at: number;
  last_activity_at: number;
  device_id: string;
  roles: string;
  revoked_at: number | null;
}

const COLUMNS = "id, user_id, create_at, expires_at, last_activity_at, device_id, roles, revoked_at";

export function sessionToProto(r: SessionRow): Session {
  return create(SessionSchema, {
    id: r.id,
    userId: r.user_id,
    createAt: BigInt(r.create_at),
    expiresAt: BigInt(r.expires_at),
    lastActivityAt: BigInt(r.last_activity_at),
    deviceId: r.device_id,
    roles: r.roles,
  });
}

export async function insertSession(q: Queryable, r: Omit<SessionRow, "revoked_at">): Promise<void> {
  await q.query(`INSERT INTO sessions (${COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,NULL)`, [
    r.id,
    r.user_id,
    r.create_at,
    r.expires_at,
    r.last_activity_at,
    r.device_id,
    r.roles,
  ]);
}

export async function sessionById(q: Queryable, id: string): Promise<SessionRow | undefined> {
  return (await q.query<SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE id = $1`, [id])).rows[0];
}

/** Marks sessions revoked; returns only those that were live until now. */
export async function revokeSessions(q: Queryable, where: { id: string } | { userId: string }, now: number): Promise<SessionRow[]> {
  const [cond, arg] = "id" in where ? ["id = $2", where.id] : ["user_id = $2", where.userId];
  return (
    await q.query<SessionRow>(`UPDATE sessions SET revoked_at = $1 WHERE ${cond} AND revoked_at IS NULL AND expires_at > $1 RETURNING ${COLUMNS}`, [now, arg])
  ).rows;
}

/** Revoked sessions whose tokens have not expired yet. */
export async function liveRevocations(q: Queryable, now: number): Promise<SessionRow[]> {
  return (await q.query<SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE revoked_at IS NOT NULL AND expires_at > $1`, [now])).rows;
}
