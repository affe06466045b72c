import type { RestDeps } from "./rest-deps.js";
import { ok, type RouteSpec } from "./rest-types.js";

/**
 * The client licence (api4/license.go getClientLicense, utils/license.go GetClientLicense):
 * Switchboard runs unlicensed, so every caller, signed in or not, gets Mattermost's answer
 * for a server without a licence.
 */
export function licenseRoutes(d: RestDeps): RouteSpec[] {
  void d;
  return [
    {
      method: "get",
      pattern: "/api/v4/license/client",
      async handler() {
        return ok({ IsLicensed: "false" });
      },
    },
  ];
}
