import { channelMemberToJson } from "@switchboard/model";
import type { ChannelUnreadAt, TeamUnread } from "@switchboard/proto/posts";
import { idParam, userParam } from "./body.js";
import { idListBody } from "./id-list-body.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, type RouteSpec } from "./rest-types.js";

/** Mattermost's ChannelUnreadAt JSON (model/channel_member.go). */
function channelUnreadAtJson(u: ChannelUnreadAt): Record<string, unknown> {
  return {
    team_id: u.teamId,
    user_id: u.userId,
    channel_id: u.channelId,
    msg_count: Number(u.msgCount),
    mention_count: Number(u.mentionCount),
    mention_count_root: Number(u.mentionCountRoot),
    urgent_mention_count: Number(u.urgentMentionCount),
    msg_count_root: Number(u.msgCountRoot),
    last_viewed_at: Number(u.lastViewedAt),
  };
}

/** Mattermost's TeamUnread JSON (model/team_member.go). */
function teamUnreadJson(t: TeamUnread): Record<string, unknown> {
  return {
    team_id: t.teamId,
    msg_count: Number(t.msgCount),
    mention_count: Number(t.mentionCount),
    mention_count_root: Number(t.mentionCountRoot),
    msg_count_root: Number(t.msgCountRoot),
    thread_count: Number(t.threadCount),
    thread_mention_count: Number(t.threadMentionCount),
    thread_urgent_mention_count: Number(t.threadUrgentMentionCount),
  };
}

/**
 * Read state: a member row, a user's member rows of a team, mark read, mark a post unread,
 * the unread counts per team (api4/channel.go, api4/post.go setPostUnread, api4/team.go).
 */
export function readStateRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  return [
    {
      method: "get",
      pattern: "/api/v4/channels/:channel_id/members/:user_id",
      async handler(req) {
        const c = await d.auth.caller(req);
        const channelId = idParam(req, "channel_id");
        const r = await d.posts.getChannelMember({ channelId, userId: userParam(req, c.actor.userId) }, opts(c.token));
        return ok(channelMemberToJson(r.member!));
      },
    },
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/teams/:team_id/channels/members",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const r = await d.posts.listChannelMembersForUser({ userId, teamId: idParam(req, "team_id") }, opts(c.token));
        return ok(r.members.map(channelMemberToJson));
      },
    },
    {
      method: "post",
      pattern: "/api/v4/channels/members/:user_id/mark_read",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const channelIds = idListBody(req, "channel_ids");
        const r = await d.posts.markChannelsViewed({ userId, channelIds }, opts(c.token));
        const times: Record<string, number> = {};
        for (const [k, v] of Object.entries(r.lastViewedAtTimes)) times[k] = Number(v);
        return ok({ status: "OK", last_viewed_at_times: times });
      },
    },
    {
      method: "post",
      pattern: "/api/v4/users/:user_id/posts/:post_id/set_unread",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const r = await d.posts.setPostUnread({ userId, postId: idParam(req, "post_id") }, opts(c.token));
        return ok(channelUnreadAtJson(r.unread!));
      },
    },
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/teams/unread",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const r = await d.posts.getTeamsUnread(
          { userId, excludeTeamId: req.query.get("exclude_team") ?? "", includeCollapsedThreads: req.query.get("include_collapsed_threads") === "true" },
          opts(c.token),
        );
        return ok(r.teams.map(teamUnreadJson));
      },
    },
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/teams/:team_id/unread",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const r = await d.posts.getTeamUnread({ userId, teamId: idParam(req, "team_id") }, opts(c.token));
        return ok(teamUnreadJson(r.unread!));
      },
    },
  ];
}
