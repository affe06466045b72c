/**
 * A user's collapsed reply threads (api4/user.go getThreadsForUser, getThreadForUser,
 * followThreadByUser, unfollowThreadByUser, updateReadStateThreadByUser,
 * setUnreadThreadByPostId, updateReadStateAllThreadsByUser): posts keeps them; participants are rendered as users from
 * accounts when `extended` is asked, as id-only users otherwise.
 */
import type { UserThread } from "@switchboard/proto/posts";
import { AppError, bareUserJson, threadToJson, userToJson } from "@switchboard/model";
import { boolQuery, idParam, invalidUrlParam, userParam } from "./body.js";
import type { RestDeps } from "./rest-deps.js";
import type { RestRequest } from "./rest-types.js";
import { ok, statusOk, type RouteSpec } from "./rest-types.js";

/** Mattermost's SetInvalidParam (web/context.go). */
function invalidParam(name: string): AppError {
  return new AppError("invalid_argument", `Invalid ${name} parameter.`, "api.context.invalid_param.app_error");
}

/** strconv.ParseUint / Atoi of a query parameter; a malformed one is an invalid parameter (getThreadsForUser). */
function uintQuery(req: RestRequest, name: string, signed: boolean): number {
  const raw = req.query.get(name);
  if (raw === null || raw === "") return 0;
  if (!(signed ? /^[+-]?\d{1,18}$/ : /^\+?\d{1,19}$/).test(raw)) throw invalidParam(name);
  return Number(raw);
}

function cursorQuery(req: RestRequest, name: string): string {
  return req.query.get(name) ?? "";
}

export function threadRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  const base = "/api/v4/users/:user_id/teams/:team_id/threads";
  const ids = async (req: RestRequest) => {
    const c = await d.auth.caller(req);
    return { c, userId: userParam(req, c.actor.userId), teamId: idParam(req, "team_id") };
  };
  /** The threads as JSON, participants as full (sanitized) users when extended. */
  const render = async (threads: readonly UserThread[], extended: boolean, token: string) => {
    const wanted = [...new Set(threads.flatMap((t) => t.participantIds))];
    const users = extended && wanted.length > 0 ? (await d.accounts.getUsers({ userIds: wanted }, opts(token))).users : [];
    const byId = new Map(users.map((u) => [u.id, u]));
    return threads.map((t) =>
      threadToJson(
        t,
        t.participantIds.map((id) => {
          const u = byId.get(id);
          return u ? userToJson(u, { self: false, showEmail: false }) : bareUserJson(id);
        }),
      ),
    );
  };
  const follow = (following: boolean): RouteSpec["handler"] =>
    async function (req) {
      const { c, userId, teamId } = await ids(req);
      await d.posts.setThreadFollowing({ userId, teamId, threadId: idParam(req, "thread_id"), following }, opts(c.token));
      return statusOk();
    };
  return [
    {
      method: "get",
      pattern: base,
      async handler(req) {
        const { c, userId, teamId } = await ids(req);
        const since = uintQuery(req, "since", false);
        const pageSize = uintQuery(req, "per_page", true);
        const extended = boolQuery(req, "extended");
        const r = await d.posts.getUserThreads(
          {
            userId,
            teamId,
            since: BigInt(since),
            before: cursorQuery(req, "before"),
            after: cursorQuery(req, "after"),
            pageSize: Math.max(0, Math.min(pageSize, 2 ** 31 - 1)),
            unread: boolQuery(req, "unread"),
            deleted: boolQuery(req, "deleted"),
            totalsOnly: boolQuery(req, "totalsOnly"),
            threadsOnly: boolQuery(req, "threadsOnly"),
          },
          opts(c.token),
        );
        return ok({
          total: Number(r.total),
          total_unread_threads: Number(r.totalUnreadThreads),
          total_unread_mentions: Number(r.totalUnreadMentions),
          total_unread_urgent_mentions: 0,
          threads: await render(r.threads, extended, c.token),
        });
      },
    },
    {
      method: "put",
      pattern: `${base}/read`,
      async handler(req) {
        const { c, userId, teamId } = await ids(req);
        await d.posts.markAllThreadsRead({ userId, teamId }, opts(c.token));
        return statusOk();
      },
    },
    {
      method: "get",
      pattern: `${base}/:thread_id`,
      async handler(req) {
        const { c, userId, teamId } = await ids(req);
        const r = await d.posts.getUserThread({ userId, teamId, threadId: idParam(req, "thread_id") }, opts(c.token));
        return ok((await render([r.thread!], boolQuery(req, "extended"), c.token))[0]);
      },
    },
    { method: "put", pattern: `${base}/:thread_id/following`, handler: follow(true) },
    { method: "del", pattern: `${base}/:thread_id/following`, handler: follow(false) },
    {
      method: "put",
      pattern: `${base}/:thread_id/read/:timestamp`,
      async handler(req) {
        const { c, userId, teamId } = await ids(req);
        const threadId = idParam(req, "thread_id");
        const raw = req.params.timestamp ?? "";
        if (!/^\d{1,18}$/.test(raw)) throw invalidUrlParam("timestamp");
        const r = await d.posts.updateThreadRead({ userId, teamId, threadId, timestamp: BigInt(raw) }, opts(c.token));
        return ok((await render([r.thread!], false, c.token))[0]);
      },
    },
    {
      // setUnreadThreadByPostId: read up to just before the post (posts checks it is the root
      // or one of its replies).
      method: "put",
      pattern: `${base}/:thread_id/set_unread/:post_id`,
      async handler(req) {
        const { c, userId, teamId } = await ids(req);
        const threadId = idParam(req, "thread_id");
        const postId = idParam(req, "post_id");
        const r = await d.posts.updateThreadRead({ userId, teamId, threadId, timestamp: 0n, postId }, opts(c.token));
        return ok((await render([r.thread!], false, c.token))[0]);
      },
    },
  ];
}
