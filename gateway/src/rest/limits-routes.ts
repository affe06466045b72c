import type { RestDeps } from "./rest-deps.js";
import { ok, type RouteSpec } from "./rest-types.js";

/**
 * Server limits (api4/limits.go getServerLimits, model/limits.go): no licence, so no user
 * limits and no message history limit; the counts only admins would see are 0 here too.
 */
export function limitsRoutes(d: RestDeps): RouteSpec[] {
  return [
    {
      method: "get",
      pattern: "/api/v4/limits/server",
      async handler(req) {
        await d.auth.caller(req);
        return ok({
          maxUsersLimit: 0,
          maxUsersHardLimit: 0,
          activeUserCount: 0,
          singleChannelGuestCount: 0,
          singleChannelGuestLimit: 0,
          postHistoryLimit: 0,
          lastAccessiblePostTime: 0,
        });
      },
    },
  ];
}
