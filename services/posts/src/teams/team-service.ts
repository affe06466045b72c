/**
 * Teams and team membership. Creating a team makes the creator its admin and creates its
 * default channels (town-square, off-topic); joining a team joins those channels, leaving
 * it leaves every channel of the team (as Mattermost's JoinUserToTeam / RemoveTeamMember).
 */
import type { Queryable } from "@switchboard/db";
import { isUniqueViolation } from "@switchboard/db";
import { AppError, newId } from "@switchboard/model";
import type { OutboxEntry } from "@switchboard/outbox";
import { CREATION_SEQ, lockChannels } from "../channels/channel-seq.js";
import { insertChannel, type ChannelRow } from "../channels/channel-store.js";
import { joinChannels, leaveChannels, type LockedChannel } from "../channels/membership-ops.js";
import type { Call, Deps } from "../deps.js";
import { denied, teamNotFound, userNotFound } from "../errors.js";
import { addedToTeamEvents, leaveTeamEvents } from "../events/event-builders.js";
import { emit } from "../events/emit.js";
import { callTx, Rollback } from "../tx.js";
import { requireId, selfOrAdmin } from "../validation.js";
import {
  deactivateTeamMember,
  insertTeam,
  teamById,
  teamByName,
  teamMember,
  teamMembersForUser,
  teamRoles,
  teamsForUser,
  upsertTeamMember,
  type TeamMemberRow,
  type TeamRow,
} from "./team-store.js";
import { validateNewTeam } from "./team-validation.js";

/** Mattermost's default channels (DefaultChannelNames without ExperimentalDefaultChannels). */
const DEFAULT_CHANNELS = [
  { name: "town-square", displayName: "Town Square" },
  { name: "off-topic", displayName: "Off-Topic" },
] as const;

export function createTeamService(d: Deps) {
  const { db } = d;

  async function activeMember(q: Queryable, teamId: string, userId: string): Promise<TeamMemberRow | undefined> {
    const m = await teamMember(q, teamId, userId);
    return m && Number(m.delete_at) === 0 ? m : undefined;
  }

  /** The team's default channels, locked, for a joining user. */
  async function lockDefaultChannels(q: Queryable, teamId: string): Promise<LockedChannel[]> {
    const { rows } = await q.query<{ id: string }>("SELECT id FROM channels WHERE team_id = $1 AND name = ANY($2::text[]) AND type = 'O' AND delete_at = 0", [
      teamId,
      DEFAULT_CHANNELS.map((c) => c.name),
    ]);
    return (
      await lockChannels(
        q,
        rows.map((r) => r.id),
      )
    ).map((id) => ({ id, team_id: teamId }));
  }

  async function commit<T>(call: Call, fn: (q: Queryable) => Promise<{ value: T; events: OutboxEntry[] }>): Promise<T> {
    const out = await callTx(db, call.signal, async (q) => {
      const r = await fn(q);
      await emit(q, r.events);
      return r;
    });
    if (out.events.length > 0) d.onCommit();
    return out.value;
  }

  async function createTeam(call: Call, input: Parameters<typeof validateNewTeam>[0]): Promise<TeamRow> {
    const t = validateNewTeam(input);
    const now = Date.now();
    const userId = call.actor.userId;
    const team: TeamRow = {
      id: newId(),
      create_at: now,
      update_at: now,
      delete_at: 0,
      display_name: t.displayName,
      name: t.name,
      description: t.description,
      email: t.email,
      type: t.type,
      company_name: "",
      allowed_domains: "",
      invite_id: newId(),
      allow_open_invite: t.allowOpenInvite,
    };
    try {
      return await commit(call, async (q) => {
        await insertTeam(q, team);
        await upsertTeamMember(q, { team_id: team.id, user_id: userId, roles: teamRoles(true), delete_at: 0, scheme_user: true, scheme_admin: true });
        const channels: LockedChannel[] = [];
        for (const c of DEFAULT_CHANNELS) {
          const row: ChannelRow = {
            id: newId(),
            create_at: now,
            update_at: now,
            delete_at: 0,
            team_id: team.id,
            type: "O",
            display_name: c.displayName,
            name: c.name,
            header: "",
            purpose: "",
            last_post_at: now,
            total_msg_count: 0,
            extra_update_at: 0,
            creator_id: "",
            total_msg_count_root: 0,
            last_root_post_at: now,
          };
          await insertChannel(q, row);
          channels.push({ id: row.id, team_id: team.id, seq: CREATION_SEQ });
        }
        const joined = await joinChannels(q, userId, channels, { admin: true, now });
        return { value: team, events: [...joined.events, ...addedToTeamEvents({ teamId: team.id, userId, changeId: newId(), now })] };
      });
    } catch (e: unknown) {
      if (isUniqueViolation(e, "teams_name_key"))
        throw new AppError("already_exists", "A team with that name already exists.", "store.sql_team.save_team.existing.app_error");
      throw e;
    }
  }

  /** Members, system admins, and anyone for teams open to join, may see a team. */
  async function visibleTeam(call: Call, team: TeamRow | undefined): Promise<TeamRow> {
    if (!team || Number(team.delete_at) !== 0) throw teamNotFound();
    if (call.actor.isSystemAdmin || team.allow_open_invite) return team;
    if (!(await activeMember(db, team.id, call.actor.userId))) throw denied();
    return team;
  }

  async function addTeamMember(call: Call, teamId: string, userId: string): Promise<TeamMemberRow> {
    requireId(teamId, "team_id");
    requireId(userId, "user_id");
    const team = await teamById(db, teamId);
    if (!team || Number(team.delete_at) !== 0) throw teamNotFound();
    const self = userId === call.actor.userId;
    if (!call.actor.isSystemAdmin && !(self && team.allow_open_invite)) {
      const me = await activeMember(db, teamId, call.actor.userId);
      if (!me?.scheme_admin) throw denied();
    }
    const user = (await d.users.byIds([userId], call.token)).get(userId);
    if (!user) throw userNotFound();
    if (user.deleteAt !== 0) throw new AppError("failed_precondition", "The user has been deactivated.", "api.team.join_user_to_team.inactive.app_error");
    const now = Date.now();
    try {
      return await commit(call, async (q) => {
        await teamById(q, teamId, { forUpdate: true });
        const existing = await activeMember(q, teamId, userId);
        if (existing) throw new Rollback(existing);
        const member = await upsertTeamMember(q, {
          team_id: teamId,
          user_id: userId,
          roles: teamRoles(false),
          delete_at: 0,
          scheme_user: true,
          scheme_admin: false,
        });
        const joined = await joinChannels(q, userId, await lockDefaultChannels(q, teamId), { admin: false, now });
        return { value: member, events: [...joined.events, ...addedToTeamEvents({ teamId, userId, changeId: newId(), now })] };
      });
    } catch (e: unknown) {
      if (e instanceof Rollback) return e.value as TeamMemberRow;
      throw e;
    }
  }

  async function removeTeamMember(call: Call, teamId: string, userId: string): Promise<void> {
    requireId(teamId, "team_id");
    requireId(userId, "user_id");
    const team = await teamById(db, teamId);
    if (!team) throw teamNotFound();
    if (userId !== call.actor.userId && !call.actor.isSystemAdmin) {
      const me = await activeMember(db, teamId, call.actor.userId);
      if (!me?.scheme_admin) throw denied();
    }
    const now = Date.now();
    await commit(call, async (q) => {
      await teamById(q, teamId, { forUpdate: true });
      if (!(await deactivateTeamMember(q, teamId, userId, now))) {
        throw new AppError("not_found", "The user is not a member of this team.", "app.team.get_member.missing.app_error");
      }
      const { rows } = await q.query<{ id: string }>(
        "SELECT m.channel_id AS id FROM channel_members m JOIN channels c ON c.id = m.channel_id WHERE m.user_id = $1 AND c.team_id = $2",
        [userId, teamId],
      );
      const channels = (
        await lockChannels(
          q,
          rows.map((r) => r.id),
        )
      ).map((id) => ({ id, team_id: teamId }));
      const left = await leaveChannels(q, userId, channels, { removerId: call.actor.userId, now });
      return { value: undefined, events: [...leaveTeamEvents({ teamId, userId, changeId: newId(), now }), ...left.events] };
    });
  }

  return {
    createTeam,
    getTeam: async (call: Call, teamId: string) => visibleTeam(call, await teamById(db, requireId(teamId, "team_id"))),
    getTeamByName: async (call: Call, name: string) => visibleTeam(call, await teamByName(db, name.trim().toLowerCase())),
    addTeamMember,
    removeTeamMember,
    listTeamsForUser: (call: Call, userId: string) => teamsForUser(db, selfOrAdmin(userId, call.actor)),
    listTeamMembersForUser: (call: Call, userId: string) => teamMembersForUser(db, selfOrAdmin(userId, call.actor)),
  };
}

export type TeamService = ReturnType<typeof createTeamService>;
