import { create } from "@bufbuild/protobuf";
import type { Queryable } from "@switchboard/db";
import { TeamMemberSchema, TeamSchema, type Team, type TeamMember } from "@switchboard/proto/posts";
import { prefixed } from "../channels/channel-store.js";

export interface TeamRow {
  id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  display_name: string;
  name: string;
  description: string;
  email: string;
  type: string;
  company_name: string;
  allowed_domains: string;
  invite_id: string;
  allow_open_invite: boolean;
}

export interface TeamMemberRow {
  team_id: string;
  user_id: string;
  roles: string;
  delete_at: number;
  scheme_user: boolean;
  scheme_admin: boolean;
}

const TEAM_COLUMNS =
  "id, create_at, update_at, delete_at, display_name, name, description, email, type, company_name, allowed_domains, invite_id, allow_open_invite";
export const MEMBER_COLUMNS = "team_id, user_id, roles, delete_at, scheme_user, scheme_admin";

/** Mattermost's scheme roles of a team member: "team_user" plus "team_admin" for admins. */
export function teamRoles(admin: boolean): string {
  return admin ? "team_user team_admin" : "team_user";
}

export function teamToProto(r: TeamRow): Team {
  return create(TeamSchema, {
    id: r.id,
    createAt: BigInt(r.create_at),
    updateAt: BigInt(r.update_at),
    deleteAt: BigInt(r.delete_at),
    displayName: r.display_name,
    name: r.name,
    description: r.description,
    email: r.email,
    type: r.type,
    companyName: r.company_name,
    allowedDomains: r.allowed_domains,
    inviteId: r.invite_id,
    allowOpenInvite: r.allow_open_invite,
  });
}

export function teamMemberToProto(r: TeamMemberRow): TeamMember {
  return create(TeamMemberSchema, {
    teamId: r.team_id,
    userId: r.user_id,
    roles: r.roles,
    deleteAt: BigInt(r.delete_at),
    schemeUser: r.scheme_user,
    schemeAdmin: r.scheme_admin,
  });
}

export async function insertTeam(q: Queryable, r: TeamRow): Promise<void> {
  await q.query(`INSERT INTO teams (${TEAM_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`, [
    r.id,
    r.create_at,
    r.update_at,
    r.delete_at,
    r.display_name,
    r.name,
    r.description,
    r.email,
    r.type,
    r.company_name,
    r.allowed_domains,
    r.invite_id,
    r.allow_open_invite,
  ]);
}

export async function teamById(q: Queryable, id: string, o: { forUpdate?: boolean } = {}): Promise<TeamRow | undefined> {
  return (await q.query<TeamRow>(`SELECT ${TEAM_COLUMNS} FROM teams WHERE id = $1${o.forUpdate ? " FOR UPDATE" : ""}`, [id])).rows[0];
}

export async function teamByName(q: Queryable, name: string): Promise<TeamRow | undefined> {
  return (await q.query<TeamRow>(`SELECT ${TEAM_COLUMNS} FROM teams WHERE name = $1`, [name])).rows[0];
}

/** The user's membership row, active or not. */
export async function teamMember(q: Queryable, teamId: string, userId: string): Promise<TeamMemberRow | undefined> {
  return (await q.query<TeamMemberRow>(`SELECT ${MEMBER_COLUMNS} FROM team_members WHERE team_id = $1 AND user_id = $2`, [teamId, userId])).rows[0];
}

/** Adds or re-activates a membership. */
export async function upsertTeamMember(q: Queryable, r: TeamMemberRow): Promise<TeamMemberRow> {
  const { rows } = await q.query<TeamMemberRow>(
    `INSERT INTO team_members (${MEMBER_COLUMNS}) VALUES ($1,$2,$3,0,$4,$5)
     ON CONFLICT (team_id, user_id) DO UPDATE SET roles = EXCLUDED.roles, delete_at = 0, scheme_user = EXCLUDED.scheme_user, scheme_admin = EXCLUDED.scheme_admin
     RETURNING ${MEMBER_COLUMNS}`,
    [r.team_id, r.user_id, r.roles, r.scheme_user, r.scheme_admin],
  );
  return rows[0]!;
}

/** Mattermost keeps the row: roles cleared, delete_at set. */
export async function deactivateTeamMember(q: Queryable, teamId: string, userId: string, now: number): Promise<boolean> {
  const r = await q.query("UPDATE team_members SET roles = '', delete_at = $3 WHERE team_id = $1 AND user_id = $2 AND delete_at = 0", [teamId, userId, now]);
  return r.rowCount > 0;
}

export async function teamsForUser(q: Queryable, userId: string): Promise<TeamRow[]> {
  return (
    await q.query<TeamRow>(
      `SELECT ${prefixed(TEAM_COLUMNS, "t")} FROM teams t JOIN team_members m ON m.team_id = t.id
       WHERE m.user_id = $1 AND m.delete_at = 0 AND t.delete_at = 0 ORDER BY t.display_name, t.id`,
      [userId],
    )
  ).rows;
}

export async function teamMembersForUser(q: Queryable, userId: string): Promise<TeamMemberRow[]> {
  return (await q.query<TeamMemberRow>(`SELECT ${MEMBER_COLUMNS} FROM team_members WHERE user_id = $1 AND delete_at = 0 ORDER BY team_id`, [userId])).rows;
}
