import { teamMemberToJson, teamToJson } from "@switchboard/model";
import { idParam, jsonObject, requiredId, str, userParam } from "./body.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, type RouteSpec } from "./rest-types.js";

/** Teams (api4/team.go). */
export function teamsRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  return [
    {
      method: "post",
      pattern: "/api/v4/teams",
      async handler(req) {
        const c = await d.auth.caller(req);
        const b = jsonObject(req, "team");
        const r = await d.posts.createTeam(
          {
            name: str(b, "name"),
            displayName: str(b, "display_name"),
            type: str(b, "type") || "O",
            description: str(b, "description"),
            email: str(b, "email"),
            allowOpenInvite: b.allow_open_invite === true,
          },
          opts(c.token),
        );
        return ok(teamToJson(r.team!), 201);
      },
    },
    {
      method: "get",
      pattern: "/api/v4/teams/:team_id",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.posts.getTeam({ teamId: idParam(req, "team_id") }, opts(c.token));
        return ok(teamToJson(r.team!));
      },
    },
    {
      method: "post",
      pattern: "/api/v4/teams/:team_id/members",
      async handler(req) {
        const c = await d.auth.caller(req);
        const teamId = idParam(req, "team_id");
        const b = jsonObject(req, "team_member");
        const r = await d.posts.addTeamMember({ teamId, userId: requiredId(b, "user_id") }, opts(c.token));
        return ok(teamMemberToJson(r.member!), 201);
      },
    },
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/teams",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const r = await d.posts.listTeamsForUser({ userId }, opts(c.token));
        return ok(r.teams.map(teamToJson));
      },
    },
  ];
}
