/**
 * Reads about teams for their members (api4/team.go): members by user id, the team's member
 * counts (getTeamStats), and a user's unread counts per team (getTeamsUnreadForUser,
 * getTeamUnread: the sums of their channels' unread posts and mentions, a muted channel's
 * posts not counted, as app/team.go GetTeamsUnreadForUser adds them up). Whoever is not a
 * member of the team (and not a system admin) is refused with 403, whether or not it exists.
 */
import { AppError } from "@switchboard/model";
import type { Call, Deps } from "../deps.js";
import { requireTeamViewer } from "../channels/read-state.js";
import { optionalId, requireId, selfOrAdmin } from "../validation.js";
import { teamThreadUnreads } from "../threads/thread-store.js";
import { MEMBER_COLUMNS, type TeamMemberRow } from "./team-store.js";

export interface TeamUnreadRow {
  readonly team_id: string;
  readonly msg_count: number;
  readonly mention_count: number;
  readonly mention_count_root: number;
  readonly msg_count_root: number;
  readonly thread_count: number;
  readonly thread_mention_count: number;
  readonly thread_urgent_mention_count: number;
}

/** User ids one call may name (Mattermost's maxListSize). */
const MAX_IDS = 1000;

/** Per team, the user's unread posts and mentions over its live channels. */
const UNREADS_SQL = `
  SELECT tm.team_id,
    coalesce(sum(CASE WHEN cm.notify_props->>'mark_unread' = 'mention' THEN 0 ELSE greatest(c.total_msg_count - cm.msg_count, 0) END), 0) AS msg_count,
    coalesce(sum(cm.mention_count), 0) AS mention_count,
    coalesce(sum(cm.mention_count_root), 0) AS mention_count_root,
    coalesce(sum(CASE WHEN cm.notify_props->>'mark_unread' = 'mention' THEN 0 ELSE greatest(c.total_msg_count_root - cm.msg_count_root, 0) END), 0) AS msg_count_root
  FROM team_members tm
  LEFT JOIN channels c ON c.team_id = tm.team_id AND c.delete_at = 0
  LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = tm.user_id
  WHERE tm.user_id = $1 AND tm.delete_at = 0 AND ($2 = '' OR tm.team_id = $2) AND ($3 = '' OR tm.team_id <> $3)
  GROUP BY tm.team_id ORDER BY tm.team_id`;

export function createTeamFacts(d: Deps) {
  const { db } = d;

  async function unreads(userId: string, onlyTeam: string, excludeTeam: string, withThreads: boolean): Promise<TeamUnreadRow[]> {
    const [{ rows }, threads] = await Promise.all([
      db.query<Record<keyof TeamUnreadRow, string>>(UNREADS_SQL, [userId, onlyTeam, excludeTeam]),
      withThreads ? teamThreadUnreads(db, userId) : Promise.resolve(new Map<string, { threads: number; mentions: number }>()),
    ]);
    return rows.map((r) => ({
      team_id: r.team_id,
      msg_count: Number(r.msg_count),
      mention_count: Number(r.mention_count),
      mention_count_root: Number(r.mention_count_root),
      msg_count_root: Number(r.msg_count_root),
      thread_count: threads.get(r.team_id)?.threads ?? 0,
      thread_mention_count: threads.get(r.team_id)?.mentions ?? 0,
      thread_urgent_mention_count: 0,
    }));
  }

  /** GET /users/{user_id}/teams/unread: one entry per team the user is in (thread counts with include_collapsed_threads). */
  async function getTeamsUnread(call: Call, userId: string, excludeTeamId: string, includeCollapsedThreads: boolean): Promise<TeamUnreadRow[]> {
    const uid = selfOrAdmin(userId, call.actor);
    return unreads(uid, "", optionalId(excludeTeamId, "exclude_team"), includeCollapsedThreads);
  }

  /** GET /users/{user_id}/teams/{team_id}/unread. */
  async function getTeamUnread(call: Call, userId: string, teamId: string): Promise<TeamUnreadRow> {
    requireId(teamId, "team_id");
    const uid = selfOrAdmin(userId, call.actor);
    await requireTeamViewer(db, call.actor, teamId);
    const [row] = await unreads(uid, teamId, "", true);
    return (
      row ?? {
        team_id: teamId,
        msg_count: 0,
        mention_count: 0,
        mention_count_root: 0,
        msg_count_root: 0,
        thread_count: 0,
        thread_mention_count: 0,
        thread_urgent_mention_count: 0,
      }
    );
  }

  /** POST /teams/{team_id}/members/ids: the active members among the ids. */
  async function getTeamMembersByIds(call: Call, teamId: string, userIds: readonly string[]): Promise<TeamMemberRow[]> {
    requireId(teamId, "team_id");
    if (userIds.length === 0 || userIds.length > MAX_IDS) {
      throw new AppError("invalid_argument", "Invalid or missing user_ids in request body.", "api.context.invalid_body_param.app_error");
    }
    for (const id of userIds) requireId(id, "user_ids");
    await requireTeamViewer(db, call.actor, teamId);
    return (
      await db.query<TeamMemberRow>(
        `SELECT ${MEMBER_COLUMNS} FROM team_members WHERE team_id = $1 AND user_id = ANY($2::text[]) AND delete_at = 0 ORDER BY user_id`,
        [teamId, [...new Set(userIds)]],
      )
    ).rows;
  }

  /** GET /teams/{team_id}/stats: Switchboard's users are all active, so both counts agree. */
  async function getTeamStats(call: Call, teamId: string): Promise<{ teamId: string; total: number; active: number }> {
    requireId(teamId, "team_id");
    await requireTeamViewer(db, call.actor, teamId);
    const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM team_members WHERE team_id = $1 AND delete_at = 0", [teamId]);
    const n = Number(rows[0]!.n);
    return { teamId, total: n, active: n };
  }

  return { getTeamsUnread, getTeamUnread, getTeamMembersByIds, getTeamStats };
}

export type TeamFacts = ReturnType<typeof createTeamFacts>;
