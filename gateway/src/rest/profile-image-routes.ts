import { defaultProfileImage } from "./profile-image.js";
import { userParam } from "./body.js";
import type { RestDeps } from "./rest-deps.js";
import type { RouteSpec } from "./rest-types.js";

const DAY_S = 24 * 60 * 60;

/**
 * Profile images (api4/user.go getProfileImage, getDefaultProfileImage). No user uploads an
 * image here, so both answer the default image. The profile image carries Mattermost's ETag,
 * the user's last_picture_update (always 0 here), and answers 304 to a matching If-None-Match.
 */
export function profileImageRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  const png = (userId: string, extra: readonly (readonly [string, string])[]) => ({
    status: 200,
    body: defaultProfileImage(userId),
    headers: [["Content-Type", "image/png"], ["Cache-Control", `max-age=${DAY_S}, private`], ...extra] as const,
  });

  return [
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/image",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        await d.accounts.getUser({ userId }, opts(c.token));
        const etag = "0";
        if (req.header("if-none-match") === etag) return { status: 304, headers: [["ETag", etag]] };
        return png(userId, [["ETag", etag]]);
      },
    },
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/image/default",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        await d.accounts.getUser({ userId }, opts(c.token));
        return png(userId, []);
      },
    },
  ];
}
