import type { RestDeps } from "./rest-deps.js";
import { ok, type RouteSpec } from "./rest-types.js";

/** The webapp's plugin manifests (api4/plugin.go getWebappPlugins): Switchboard runs no plugins. */
export function pluginsRoutes(d: RestDeps): RouteSpec[] {
  return [
    {
      method: "get",
      pattern: "/api/v4/plugins/webapp",
      async handler(req) {
        await d.auth.caller(req);
        return ok([]);
      },
    },
  ];
}
