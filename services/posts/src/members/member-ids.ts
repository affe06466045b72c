/**
 * The ids of a team's or a channel's members, for the user lists accounts serves
 * (GET /users?in_team=, in_channel=, not_in_channel=, users/autocomplete). A team's members
 * are shown to its members and system admins (Mattermost's view_team); a channel's to whoever
 * may see the channel (read_channel). Anything else, an unknown id included, is refused.
 */
import { invalidArgument } from "@switchboard/model";
import { loadChannelAccess, requireVisible } from "../channels/channel-access.js";
import type { Call, Deps } from "../deps.js";
import { denied } from "../errors.js";
import { teamMember } from "../teams/team-store.js";
import { requireId } from "../validation.js";

export function createMemberIds(d: Deps) {
  const { db } = d;

  return async function memberIds(call: Call, teamId: string, channelId: string): Promise<string[]> {
    if ((teamId === "") === (channelId === "")) {
      throw invalidArgument("api.context.invalid_url_param.app_error", "Exactly one of team_id and channel_id is needed.");
    }
    if (teamId !== "") {
      requireId(teamId, "team_id");
      if (!call.actor.isSystemAdmin) {
        const m = await teamMember(db, teamId, call.actor.userId);
        if (!m || Number(m.delete_at) !== 0) throw denied();
      }
      const r = await db.query<{ user_id: string }>("SELECT user_id FROM team_members WHERE team_id = $1 AND delete_at = 0", [teamId]);
      return r.rows.map((x) => x.user_id);
    }
    try {
      requireVisible(await loadChannelAccess(db, requireId(channelId, "channel_id"), call.actor.userId), call.actor);
    } catch {
      throw denied();
    }
    const r = await db.query<{ user_id: string }>("SELECT user_id FROM channel_members WHERE channel_id = $1", [channelId]);
    return r.rows.map((x) => x.user_id);
  };
}

export type MemberIds = ReturnType<typeof createMemberIds>;
