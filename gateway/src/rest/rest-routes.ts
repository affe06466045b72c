/** The REST v4 slice the gateway answers, every resource's routes in one list. */
import { channelInfoRoutes } from "./channel-info-routes.js";
import { channelsRoutes } from "./channels-routes.js";
import { licenseRoutes } from "./license-routes.js";
import { limitsRoutes } from "./limits-routes.js";
import { noticesRoutes } from "./notices-routes.js";
import { pluginsRoutes } from "./plugins-routes.js";
import { preferencesRoutes } from "./preferences-routes.js";
import { profileImageRoutes } from "./profile-image-routes.js";
import { pinRoutes } from "./pin-routes.js";
import { postsRoutes } from "./posts-routes.js";
import { readStateRoutes } from "./read-state-routes.js";
import type { RestDeps } from "./rest-deps.js";
import type { RouteSpec } from "./rest-types.js";
import { rolesRoutes } from "./roles-routes.js";
import { sidebarRoutes } from "./sidebar-routes.js";
import { statusRoutes } from "./status-routes.js";
import { systemRoutes } from "./system-routes.js";
import { teamInfoRoutes } from "./team-info-routes.js";
import { threadRoutes } from "./thread-routes.js";
import { flaggedRoutes } from "./flagged-routes.js";
import { teamsRoutes } from "./teams-routes.js";
import { userListsRoutes } from "./user-lists-routes.js";
import { usersRoutes } from "./users-routes.js";

export function restRoutes(deps: RestDeps): RouteSpec[] {
  return [
    ...userListsRoutes(deps),
    ...usersRoutes(deps),
    ...statusRoutes(deps),
    ...teamsRoutes(deps),
    ...channelsRoutes(deps),
    ...postsRoutes(deps),
    ...systemRoutes(deps),
    ...rolesRoutes(deps),
    ...licenseRoutes(deps),
    ...limitsRoutes(deps),
    ...pluginsRoutes(deps),
    ...noticesRoutes(deps),
    ...preferencesRoutes(deps),
    ...profileImageRoutes(deps),
    ...readStateRoutes(deps),
    ...channelInfoRoutes(deps),
    ...teamInfoRoutes(deps),
    ...pinRoutes(deps),
    ...sidebarRoutes(deps),
    ...threadRoutes(deps),
    ...flaggedRoutes(deps),
  ];
}
