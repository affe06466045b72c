import type { Status } from "@switchboard/proto/presence";
import { invalidBody, jsonObject, jsonStringArray, str, userParam } from "./body.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, type RouteSpec } from "./rest-types.js";

/** Mattermost's Status JSON (model/status.go). */
function statusToJson(s: Status): Record<string, unknown> {
  return {
    user_id: s.userId,
    status: s.status,
    manual: s.manual,
    last_activity_at: Number(s.lastActivityAt),
    dnd_end_time: Number(s.dndEndTime),
  };
}

/** Statuses (api4/status.go), answered by the presence service. */
export function statusRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  return [
    {
      method: "post",
      pattern: "/api/v4/users/status/ids",
      async handler(req) {
        const c = await d.auth.caller(req);
        const ids = jsonStringArray(req, "user_ids", 1000);
        if (ids.length === 0) throw invalidBody("user_ids");
        const r = await d.presence.getStatuses({ userIds: ids }, opts(c.token));
        return ok(r.statuses.map(statusToJson));
      },
    },
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/status",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const r = await d.presence.getStatus({ userId }, opts(c.token));
        return ok(statusToJson(r.status!));
      },
    },
    {
      method: "put",
      pattern: "/api/v4/users/:user_id/status",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const b = jsonObject(req, "status");
        if (b.user_id !== undefined && b.user_id !== userId) throw invalidBody("user_id");
        const dnd = b.dnd_end_time;
        if (dnd !== undefined && dnd !== null && (typeof dnd !== "number" || !Number.isSafeInteger(dnd))) throw invalidBody("dnd_end_time");
        const r = await d.presence.setStatus({ userId, status: str(b, "status"), dndEndTime: BigInt(dnd ?? 0) }, opts(c.token));
        return ok(statusToJson(r.status!));
      },
    },
  ];
}
