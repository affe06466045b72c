/**
 * A user's flagged posts (api4/post.go getFlaggedPostsForUser): the flags are the user's
 * flagged_post preferences in accounts (which refuses another user's), the posts and who may
 * read them come from posts; answered as Mattermost's PostList, newest first.
 */
import { AppError, isValidId } from "@switchboard/model";
import { pageQuery, userParam } from "./body.js";
import { postListJson } from "./post-list-json.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, type RouteSpec } from "./rest-types.js";

export function flaggedRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  /** The user's flagged post ids; accounts answers 404 for a category without preferences. */
  const flaggedIds = async (userId: string, token: string): Promise<string[]> => {
    try {
      const r = await d.accounts.getPreferences({ userId, category: "flagged_post", name: "" }, opts(token));
      return [...new Set(r.preferences.map((p) => p.name).filter(isValidId))];
    } catch (e: unknown) {
      if (AppError.from(e).code === "not_found") return [];
      throw e;
    }
  };
  return [
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/posts/flagged",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const { page, perPage } = pageQuery(req);
        const postIds = await flaggedIds(userId, c.token);
        const teamId = req.query.get("team_id") ?? "";
        const channelId = req.query.get("channel_id") ?? "";
        // A filter that is no id matches no post (Mattermost queries with it as given).
        const noMatch = [teamId, channelId].some((f) => f !== "" && !isValidId(f));
        if (postIds.length === 0 || noMatch) return ok(postListJson([], []));
        const r = await d.posts.getFlaggedPosts({ postIds, teamId, channelId, page, perPage }, opts(c.token));
        return ok(postListJson(r.order, r.posts));
      },
    },
  ];
}
