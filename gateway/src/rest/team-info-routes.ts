import { teamMemberToJson } from "@switchboard/model";
import { idParam, userParam } from "./body.js";
import { idListBody } from "./id-list-body.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, type RouteSpec } from "./rest-types.js";

/** A user's team members, team members by user id, team counts (api4/team.go). */
export function teamInfoRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  return [
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/teams/members",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.posts.listTeamMembersForUser({ userId: userParam(req, c.actor.userId) }, opts(c.token));
        return ok(r.members.map(teamMemberToJson));
      },
    },
    {
      method: "post",
      pattern: "/api/v4/teams/:team_id/members/ids",
      async handler(req) {
        const c = await d.auth.caller(req);
        const teamId = idParam(req, "team_id");
        const r = await d.posts.getTeamMembersByIds({ teamId, userIds: idListBody(req, "user_ids") }, opts(c.token));
        return ok(r.members.map(teamMemberToJson));
      },
    },
    {
      method: "get",
      pattern: "/api/v4/teams/:team_id/stats",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.posts.getTeamStats({ teamId: idParam(req, "team_id") }, opts(c.token));
        return ok({ team_id: r.teamId, total_member_count: Number(r.totalMemberCount), active_member_count: Number(r.activeMemberCount) });
      },
    },
  ];
}
