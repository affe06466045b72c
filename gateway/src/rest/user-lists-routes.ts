/**
 * User lists (api4/user.go getUsers, autocompleteUsers, getUsersByNames): accounts pages and
 * filters the users; where a list is bounded by a team or channel, its member ids come from
 * posts, which also decides whether the caller may see them.
 */
import { AppError, isValidId, userToJson } from "@switchboard/model";
import type { User } from "@switchboard/proto/accounts";
import { invalidBody, invalidUrlParam } from "./body.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, type RestRequest, type RouteSpec } from "./rest-types.js";

const PER_PAGE_DEFAULT = 60;
const PER_PAGE_MAX = 200;
const MAX_PAGE = 1_000_000;
// model.UserSearchDefaultLimit, model.UserSearchMaxLimit.
const AUTOCOMPLETE_DEFAULT = 100;
const AUTOCOMPLETE_MAX = 1000;
const MAX_USERNAMES = 1000;

/** web/params.go: a page or per_page that is not a non-negative number is the default. */
function paging(req: RestRequest): { offset: number; limit: number } {
  const num = (name: string): number | undefined => {
    const raw = req.query.get(name) ?? "";
    return /^\d{1,9}$/.test(raw) ? Number(raw) : undefined;
  };
  const page = Math.min(num("page") ?? 0, MAX_PAGE);
  const perPage = Math.min(num("per_page") ?? PER_PAGE_DEFAULT, PER_PAGE_MAX);
  return { offset: page * perPage, limit: perPage };
}

function idQuery(req: RestRequest, name: string, urlName = name): string {
  const v = req.query.get(name) ?? "";
  if (v !== "" && !isValidId(v)) throw invalidUrlParam(urlName);
  return v;
}

export function userListsRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  const members = async (token: string, where: { teamId?: string; channelId?: string }): Promise<string[]> =>
    (await d.posts.listMemberIds({ teamId: where.teamId ?? "", channelId: where.channelId ?? "" }, opts(token))).userIds;
  const list = async (token: string, q: { ids?: string[]; exclude?: string[]; term?: string; offset: number; limit: number }): Promise<User[]> =>
    (
      await d.accounts.listUsers(
        { restrictToIds: q.ids !== undefined, ids: q.ids ?? [], excludeIds: q.exclude ?? [], term: q.term ?? "", offset: q.offset, limit: q.limit },
        opts(token),
      )
    ).users;
  const json = (users: User[], callerId: string) => users.map((u) => userToJson(u, { self: u.id === callerId }));

  return [
    {
      method: "get",
      pattern: "/api/v4/users",
      async handler(req) {
        const c = await d.auth.caller(req);
        const inTeam = idQuery(req, "in_team");
        const notInTeam = idQuery(req, "not_in_team");
        const inChannel = idQuery(req, "in_channel");
        const notInChannel = idQuery(req, "not_in_channel");
        const sort = req.query.get("sort") ?? "";
        if (notInChannel !== "" && inTeam === "") throw invalidUrlParam("team_id");
        if (sort !== "" && sort !== "last_activity_at" && sort !== "create_at" && sort !== "status" && sort !== "admin") throw invalidUrlParam("sort");
        if ((sort === "last_activity_at" || sort === "create_at") && (inTeam === "" || notInTeam !== "" || inChannel !== "" || notInChannel !== "")) {
          throw invalidUrlParam("sort");
        }
        if ((sort === "status" || sort === "admin") && inChannel === "") throw invalidUrlParam("sort");
        const page = paging(req);
        let users: User[];
        // The order of api4/user.go getUsers: the first filter that applies decides.
        if (notInChannel !== "") {
          const [team, channel] = await Promise.all([members(c.token, { teamId: inTeam }), members(c.token, { channelId: notInChannel })]);
          users = await list(c.token, { ids: team, exclude: channel, ...page });
        } else if (notInTeam !== "") {
          users = await list(c.token, { exclude: await members(c.token, { teamId: notInTeam }), ...page });
        } else if (inTeam !== "") {
          users = await list(c.token, { ids: await members(c.token, { teamId: inTeam }), ...page });
        } else if (inChannel !== "") {
          users = await list(c.token, { ids: await members(c.token, { channelId: inChannel }), ...page });
        } else {
          users = await list(c.token, page);
        }
        return ok(json(users, c.actor.userId));
      },
    },
    {
      method: "get",
      pattern: "/api/v4/users/autocomplete",
      async handler(req) {
        const c = await d.auth.caller(req);
        const teamId = idQuery(req, "in_team");
        const channelId = idQuery(req, "in_channel");
        const name = req.query.get("name") ?? "";
        const rawLimit = req.query.get("limit") ?? "";
        let limit = AUTOCOMPLETE_DEFAULT;
        if (rawLimit !== "") limit = /^\d{1,9}$/.test(rawLimit) ? Math.min(Number(rawLimit), AUTOCOMPLETE_MAX) : 0;
        if (channelId !== "") {
          // Mattermost answers this with a 500; a missing parameter is the caller's mistake here.
          if (teamId === "")
            throw new AppError("invalid_argument", "A team id is needed with a channel id.", "api.user.autocomplete_users.missing_team_id.app_error");
          const [team, channel] = await Promise.all([members(c.token, { teamId }), members(c.token, { channelId })]);
          const [inChannel, outOfChannel] = await Promise.all([
            list(c.token, { ids: channel, term: name, offset: 0, limit }),
            list(c.token, { ids: team, exclude: channel, term: name, offset: 0, limit }),
          ]);
          return ok({ users: json(inChannel, c.actor.userId), out_of_channel: json(outOfChannel, c.actor.userId) });
        }
        const ids = teamId !== "" ? await members(c.token, { teamId }) : undefined;
        const users = await list(c.token, { ...(ids ? { ids } : {}), term: name, offset: 0, limit });
        return ok({ users: json(users, c.actor.userId) });
      },
    },
    {
      method: "post",
      pattern: "/api/v4/users/usernames",
      async handler(req) {
        const c = await d.auth.caller(req);
        let names: unknown;
        try {
          names = JSON.parse(req.body.toString("utf8"));
        } catch {
          names = undefined;
        }
        if (!Array.isArray(names) || names.length === 0 || names.length > MAX_USERNAMES || !names.every((n) => typeof n === "string")) {
          throw invalidBody("usernames");
        }
        const r = await d.accounts.getUsersByUsernames({ usernames: names }, opts(c.token));
        return ok(json(r.users, c.actor.userId));
      },
    },
  ];
}
