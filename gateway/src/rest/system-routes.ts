import { AppError } from "@switchboard/model";
import { invalidUrlParam } from "./body.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, type RouteSpec } from "./rest-types.js";

/** System ping and the client configuration (api4/system.go, api4/config.go). */
export function systemRoutes(d: RestDeps): RouteSpec[] {
  return [
    {
      method: "get",
      pattern: "/api/v4/system/ping",
      async handler() {
        const healthy = d.healthy();
        const body = {
          status: healthy ? "OK" : "UNHEALTHY",
          ActiveSearchBackend: "database",
          AndroidLatestVersion: "",
          AndroidMinVersion: "",
          IosLatestVersion: "",
          IosMinVersion: "",
        };
        return ok(body, healthy ? 200 : 500);
      },
    },
    {
      method: "get",
      pattern: "/api/v4/config/client",
      async handler(req) {
        // As api4/config.go: no format is 501, any format but "old" is a bad parameter.
        const format = req.query.get("format");
        if (!format) {
          throw new AppError(
            "unimplemented",
            "New format for the client configuration is not supported yet. Please specify format=old.",
            "api.config.client.old_format.app_error",
          );
        }
        if (format !== "old") throw invalidUrlParam("format");
        return ok(d.clientConfig());
      },
    },
  ];
}
