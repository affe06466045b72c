/**
 * Adding and removing channel members, with Mattermost's default permissions: any member may
 * add or remove members, a team member may join a public channel, anyone may leave, system
 * admins may do anything. Added users must belong to the channel's team.
 */
import { AppError } from "@switchboard/model";
import type { Call, Deps } from "../deps.js";
import { channelNotFound, deletedChannel, denied, memberNotFound, userNotFound } from "../errors.js";
import { emit } from "../events/emit.js";
import { teamMember } from "../teams/team-store.js";
import { callTx, Rollback } from "../tx.js";
import { requireId } from "../validation.js";
import { loadChannelAccess, requireVisible, type ChannelAccess } from "./channel-access.js";
import { lockChannel } from "./channel-seq.js";
import { channelMember, type ChannelMemberRow } from "./channel-store.js";
import { joinChannels, leaveChannels } from "./membership-ops.js";

const DEFAULT_CHANNEL = "town-square";

function requireTeamChannel(a: ChannelAccess, op: "add" | "remove"): void {
  if (a.channel.type === "D" || a.channel.type === "G") {
    throw op === "add"
      ? new AppError("invalid_argument", "Members cannot be added to direct or group channels.", "api.channel.add_user_to_channel.type.app_error")
      : new AppError("invalid_argument", "Members cannot be removed from direct or group channels.", "api.channel.remove_channel_member.type.app_error");
  }
  if (Number(a.channel.delete_at) !== 0) throw deletedChannel();
}

export function createMembershipService(d: Deps) {
  const { db } = d;

  async function addChannelMember(call: Call, channelId: string, userId: string): Promise<ChannelMemberRow> {
    requireId(channelId, "channel_id");
    requireId(userId, "user_id");
    const a = requireVisible(await loadChannelAccess(db, channelId, call.actor.userId), call.actor);
    requireTeamChannel(a, "add");
    const selfJoin = userId === call.actor.userId && a.channel.type === "O" && a.isTeamMember;
    if (!call.actor.isSystemAdmin && !a.isMember && !selfJoin) throw denied();
    const user = (await d.users.byIds([userId], call.token)).get(userId);
    if (!user) throw userNotFound();
    if (user.deleteAt !== 0)
      throw new AppError("permission_denied", "Deactivated users cannot be added to channels.", "app.channel.add_member.deleted_user.app_error");
    const tm = await teamMember(db, a.channel.team_id, userId);
    if (!tm || Number(tm.delete_at) !== 0) {
      throw new AppError("failed_precondition", "The user is not a member of the channel's team.", "app.team.get_member.missing.app_error");
    }
    try {
      const member = await callTx(db, call.signal, async (q) => {
        const locked = await lockChannel(q, channelId);
        if (!locked) throw channelNotFound();
        const joined = await joinChannels(q, userId, [{ id: channelId, team_id: locked.channel.team_id, seq: locked.seq }], { admin: false, now: Date.now() });
        const added = joined.members[0];
        // Already a member: Mattermost answers with the membership and changes nothing.
        if (!added) throw new Rollback(undefined);
        await emit(q, joined.events);
        return added;
      });
      d.onCommit();
      return member;
    } catch (e: unknown) {
      if (!(e instanceof Rollback)) throw e;
      const existing = await channelMember(db, channelId, userId);
      if (!existing) throw memberNotFound();
      return existing;
    }
  }

  async function removeChannelMember(call: Call, channelId: string, userId: string): Promise<void> {
    requireId(channelId, "channel_id");
    requireId(userId, "user_id");
    const a = requireVisible(await loadChannelAccess(db, channelId, call.actor.userId), call.actor);
    requireTeamChannel(a, "remove");
    if (a.channel.name === DEFAULT_CHANNEL) {
      throw new AppError("invalid_argument", "Unable to remove user from the default channel town-square.", "api.channel.remove.default.app_error");
    }
    if (!call.actor.isSystemAdmin && !a.isMember && userId !== call.actor.userId) throw denied();
    await callTx(db, call.signal, async (q) => {
      const locked = await lockChannel(q, channelId);
      if (!locked) throw channelNotFound();
      const left = await leaveChannels(q, userId, [{ id: channelId, team_id: locked.channel.team_id, seq: locked.seq }], {
        removerId: call.actor.userId,
        now: Date.now(),
      });
      if (left.removed.length === 0) throw memberNotFound();
      await emit(q, left.events);
    });
    d.onCommit();
  }

  return { addChannelMember, removeChannelMember };
}

export type MembershipService = ReturnType<typeof createMembershipService>;
