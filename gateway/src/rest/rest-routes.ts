/** The REST v4 slice the gateway answers, every resource's routes in one list. */
import { channelInfoRoutes } from "./channel-info-routes.js";
import { channelsRoutes } from "./channels-routes.js";
import { pinRoutes } from "./pin-routes.js";
import { postsRoutes } from "./posts-routes.js";
import { readStateRoutes } from "./read-state-routes.js";
import type { RestDeps } from "./rest-deps.js";
import type { RouteSpec } from "./rest-types.js";
import { sidebarRoutes } from "./sidebar-routes.js";
import { statusRoutes } from "./status-routes.js";
import { systemRoutes } from "./system-routes.js";
import { teamInfoRoutes } from "./team-info-routes.js";
import { teamsRoutes } from "./teams-routes.js";
import { usersRoutes } from "./users-routes.js";

export function restRoutes(deps: RestDeps): RouteSpec[] {
  return [
    ...usersRoutes(deps),
    ...statusRoutes(deps),
    ...teamsRoutes(deps),
    ...channelsRoutes(deps),
    ...postsRoutes(deps),
    ...systemRoutes(deps),
    ...readStateRoutes(deps),
    ...channelInfoRoutes(deps),
    ...teamInfoRoutes(deps),
    ...pinRoutes(deps),
    ...sidebarRoutes(deps),
  ];
}
