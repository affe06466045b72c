import { AppError } from "@switchboard/model";
import { idParam, invalidBody } from "./body.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, statusOk, type RouteSpec } from "./rest-types.js";

// model/product_notices.go NoticeClientTypeFromString.
const CLIENTS = new Set(["web", "desktop", "mobile-ios", "mobile-android"]);

/**
 * In-product notices (api4/system.go getProductNotices, updateViewedProductNotices).
 * Switchboard publishes no notices: the list is empty, and there is nothing to mark viewed.
 */
export function noticesRoutes(d: RestDeps): RouteSpec[] {
  return [
    {
      method: "put",
      pattern: "/api/v4/system/notices/view",
      async handler(req) {
        await d.auth.caller(req);
        let ids: unknown;
        try {
          ids = JSON.parse(req.body.toString("utf8"));
        } catch {
          ids = undefined;
        }
        if (!Array.isArray(ids) || !ids.every((x) => typeof x === "string")) {
          throw new AppError("invalid_argument", "Error parsing the payload.", "api.payload.parse.error");
        }
        return statusOk();
      },
    },
    {
      method: "get",
      pattern: "/api/v4/system/notices/:team_id",
      async handler(req) {
        await d.auth.caller(req);
        idParam(req, "team_id");
        if (!CLIENTS.has(req.query.get("client") ?? "")) throw invalidBody("client");
        return ok([]);
      },
    },
  ];
}
