/**
 * Who may see and use a channel (Mattermost's default roles):
 * - system admins may do anything;
 * - members see the channel and read and write its posts;
 * - public channels' metadata is visible to the members of their team;
 * - private, direct and group channels do not exist for non-members (NOT_FOUND).
 */
import type { Queryable } from "@switchboard/db";
import type { Actor } from "@switchboard/tokens";
import { channelHidden, channelNotFound, denied } from "../errors.js";
import { CHANNEL_COLUMNS, prefixed, type ChannelRow } from "./channel-store.js";

export interface ChannelAccess {
  readonly channel: ChannelRow;
  readonly isMember: boolean;
  readonly isChannelAdmin: boolean;
  readonly isTeamMember: boolean;
  readonly isTeamAdmin: boolean;
}

/** The channel and the user's relation to it, in one query (undefined: no such channel). */
export async function loadChannelAccess(q: Queryable, channelId: string, userId: string): Promise<ChannelAccess | undefined> {
  const { rows } = await q.query<ChannelRow & { cm_user: string | null; cm_admin: boolean | null; tm_user: string | null; tm_admin: boolean | null }>(
    `SELECT ${prefixed(CHANNEL_COLUMNS, "c")}, cm.user_id AS cm_user, cm.scheme_admin AS cm_admin, tm.user_id AS tm_user, tm.scheme_admin AS tm_admin
     FROM channels c
     LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $2
     LEFT JOIN team_members tm ON tm.team_id = c.team_id AND tm.user_id = $2 AND tm.delete_at = 0
     WHERE c.id = $1`,
    [channelId, userId],
    { prepare: true },
  );
  const r = rows[0];
  if (!r) return undefined;
  const { cm_user, cm_admin, tm_user, tm_admin, ...channel } = r;
  return {
    channel,
    isMember: cm_user !== null,
    isChannelAdmin: cm_admin === true,
    isTeamMember: tm_user !== null,
    isTeamAdmin: tm_admin === true,
  };
}

function canSeeChannel(a: ChannelAccess, actor: Actor): boolean {
  return actor.isSystemAdmin || a.isMember || (a.channel.type === "O" && a.isTeamMember);
}

/** The channel's metadata: visible channels only; others are NOT_FOUND. */
export function requireVisible(a: ChannelAccess | undefined, actor: Actor): ChannelAccess {
  if (!a) throw channelNotFound();
  if (!canSeeChannel(a, actor)) throw channelHidden();
  return a;
}

/** Reading posts: members and system admins. */
export function requireReader(a: ChannelAccess | undefined, actor: Actor): ChannelAccess {
  const v = requireVisible(a, actor);
  if (!v.isMember && !actor.isSystemAdmin) throw denied();
  return v;
}

/** Writing (posts, reactions): members only. */
export function requireMember(a: ChannelAccess | undefined, actor: Actor): ChannelAccess {
  const v = requireVisible(a, actor);
  if (!v.isMember) throw denied();
  return v;
}

/** Reading, with Mattermost's refusal for channels one may not read: 403 whether or not the channel exists. */
export function requireReaderOrDenied(a: ChannelAccess | undefined, actor: Actor): ChannelAccess {
  if (!a || (!a.isMember && !actor.isSystemAdmin)) throw denied();
  return a;
}

/** Mattermost's SessionHasPermissionToReadChannel: members, team members for a public channel, system admins. */
export function canReadContent(a: ChannelAccess, actor: Actor): boolean {
  return canSeeChannel(a, actor);
}
