/** Team channels: create, read, list, and the reads edges and presence need for routing. */
import { AppError, newId, notFound } from "@switchboard/model";
import type { Actor } from "@switchboard/tokens";
import type { Call, Deps } from "../deps.js";
import { denied, teamNotFound } from "../errors.js";
import { channelChange, channelCreatedEvents } from "../events/event-builders.js";
import { emit } from "../events/emit.js";
import { teamById, teamMember } from "../teams/team-store.js";
import { callTx } from "../tx.js";
import { optionalId, pageParams, requireId, selfOrAdmin } from "../validation.js";
import { loadChannelAccess, requireVisible } from "./channel-access.js";
import { markChannelsViewed } from "./read-state.js";
import {
  channelByName,
  channelMembersPage,
  channelsForUser,
  insertChannel,
  insertChannelMembers,
  type ChannelMemberRow,
  type ChannelRow,
} from "./channel-store.js";
import { CREATION_SEQ } from "./channel-seq.js";
import { validateNewChannel } from "./channel-validation.js";

export function createChannelService(d: Deps) {
  const { db } = d;

  async function visible(actor: Actor, channelId: string) {
    return requireVisible(await loadChannelAccess(db, requireId(channelId, "channel_id"), actor.userId), actor);
  }

  async function createChannel(call: Call, input: { teamId: string } & Parameters<typeof validateNewChannel>[0]): Promise<ChannelRow> {
    const teamId = requireId(input.teamId, "team_id");
    const c = validateNewChannel(input);
    const team = await teamById(db, teamId);
    if (!team || Number(team.delete_at) !== 0) throw teamNotFound();
    const membership = await teamMember(db, teamId, call.actor.userId);
    if (!call.actor.isSystemAdmin && !(membership && Number(membership.delete_at) === 0)) throw denied();
    const now = Date.now();
    const row: ChannelRow = {
      id: newId(),
      create_at: now,
      update_at: now,
      delete_at: 0,
      team_id: teamId,
      type: c.type,
      display_name: c.displayName,
      name: c.name,
      header: c.header,
      purpose: c.purpose,
      last_post_at: now,
      total_msg_count: 0,
      extra_update_at: 0,
      creator_id: call.actor.userId,
      total_msg_count_root: 0,
      last_root_post_at: now,
    };
    const created = await callTx(db, call.signal, async (q) => {
      const inserted = await insertChannel(q, row);
      if (!inserted) {
        throw new AppError("already_exists", "A channel with that name already exists on the same team.", "store.sql_channel.save_channel.exists.app_error");
      }
      await insertChannelMembers(q, row.id, [{ userId: call.actor.userId, admin: true }], now);
      await emit(q, channelCreatedEvents(channelChange(inserted, CREATION_SEQ, now), call.actor.userId));
      return inserted;
    });
    d.onCommit();
    return created;
  }

  /**
   * api4/channel.go getChannelByName: an unknown name, an archived channel (unless asked
   * for) and a private channel the caller may not read are all 404 get_by_name.missing; a
   * public channel of a team the caller is not in is 403.
   */
  async function getChannelByName(call: Call, teamId: string, name: string, includeDeleted = false): Promise<ChannelRow> {
    const found = await channelByName(db, requireId(teamId, "team_id"), name.trim());
    const missing = () => notFound("app.channel.get_by_name.missing.app_error", "Unable to find the existing channel.");
    if (!found || (!includeDeleted && Number(found.delete_at) !== 0)) throw missing();
    const a = await loadChannelAccess(db, found.id, call.actor.userId);
    if (!a) throw missing();
    if (call.actor.isSystemAdmin || a.isMember) return a.channel;
    if (found.type === "O") {
      if (a.isTeamMember) return a.channel;
      throw denied();
    }
    if (a.isTeamAdmin) return a.channel;
    throw missing();
  }

  async function listChannelMembers(call: Call, channelId: string, page: number, perPage: number): Promise<ChannelMemberRow[]> {
    const p = pageParams(page, perPage);
    await visible(call.actor, channelId);
    return channelMembersPage(db, channelId, p.page, p.perPage);
  }

  /**
   * Marks the channel (and the previous one) read up to its last post, as Mattermost's
   * ViewChannel: channels the viewer is not a member of are skipped (read-state.ts).
   */
  async function viewChannel(call: Call, userId: string, channelId: string, prevChannelId: string): Promise<Record<string, number>> {
    const uid = selfOrAdmin(userId, call.actor);
    optionalId(channelId, "channel_id");
    optionalId(prevChannelId, "prev_channel_id");
    const ids = [channelId, prevChannelId].filter((id) => id !== "");
    if (ids.length === 0) return {};
    return markChannelsViewed(d, call, uid, ids);
  }

  async function getUserRouting(call: Call, userId: string) {
    const uid = selfOrAdmin(userId, call.actor);
    const channels = await db.query<{ channel_id: string; team_id: string; type: string }>(
      `SELECT c.id AS channel_id, c.team_id, c.type FROM channel_members m JOIN channels c ON c.id = m.channel_id
       WHERE m.user_id = $1 AND c.delete_at = 0 ORDER BY c.id`,
      [uid],
    );
    const teams = await db.query<{ team_id: string }>("SELECT team_id FROM team_members WHERE user_id = $1 AND delete_at = 0 ORDER BY team_id", [uid]);
    return { channels: channels.rows, teamIds: teams.rows.map((t) => t.team_id) };
  }

  /** Users sharing a direct or group channel with the user (internal: presence). */
  async function listDirectPartners(actor: Actor | undefined, userId: string): Promise<string[]> {
    const uid = requireId(userId, "user_id");
    if (actor && actor.userId !== uid && !actor.isSystemAdmin) throw denied();
    const { rows } = await db.query<{ user_id: string }>(
      `SELECT DISTINCT other.user_id FROM channel_members me
       JOIN channels c ON c.id = me.channel_id AND c.type IN ('D', 'G') AND c.delete_at = 0
       JOIN channel_members other ON other.channel_id = c.id AND other.user_id <> me.user_id
       WHERE me.user_id = $1 ORDER BY other.user_id`,
      [uid],
    );
    return rows.map((r) => r.user_id);
  }

  return {
    createChannel,
    getChannel: async (call: Call, channelId: string) => (await visible(call.actor, channelId)).channel,
    getChannelByName,
    listChannelsForUser: (call: Call, userId: string, teamId: string, includeDeleted: boolean) =>
      channelsForUser(db, selfOrAdmin(userId, call.actor), optionalId(teamId, "team_id"), includeDeleted),
    listChannelMembers,
    viewChannel,
    getUserRouting,
    listDirectPartners,
  };
}

export type ChannelService = ReturnType<typeof createChannelService>;
