import { channelToJson } from "@switchboard/model";
import { idParam, invalidUrlParam } from "./body.js";
import { idListBody } from "./id-list-body.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, type RouteSpec } from "./rest-types.js";

/** Mattermost's channel names: 1 to 64 of lower-case letters, digits, '-' and '_' (model.IsValidChannelIdentifier). */
const CHANNEL_NAME = /^[a-z0-9_-]{1,64}$/;

/** A channel by name, its counts, member counts of several (api4/channel.go). */
export function channelInfoRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  return [
    {
      method: "get",
      pattern: "/api/v4/teams/:team_id/channels/name/:channel_name",
      async handler(req) {
        const c = await d.auth.caller(req);
        const teamId = idParam(req, "team_id");
        const name = req.params.channel_name ?? "";
        if (!CHANNEL_NAME.test(name)) throw invalidUrlParam("channel_name");
        const r = await d.posts.getChannelByName({ teamId, name, includeDeleted: req.query.get("include_deleted") === "true" }, opts(c.token));
        return ok(channelToJson(r.channel!));
      },
    },
    {
      method: "get",
      pattern: "/api/v4/channels/:channel_id/stats",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.posts.getChannelStats(
          { channelId: idParam(req, "channel_id"), excludeFilesCount: req.query.get("exclude_files_count") === "true" },
          opts(c.token),
        );
        return ok({
          channel_id: r.channelId,
          member_count: Number(r.memberCount),
          guest_count: Number(r.guestCount),
          pinnedpost_count: Number(r.pinnedpostCount),
          files_count: Number(r.filesCount),
        });
      },
    },
    {
      method: "post",
      pattern: "/api/v4/channels/stats/member_count",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.posts.getChannelsMemberCount({ channelIds: idListBody(req, "channel_ids") }, opts(c.token));
        const out: Record<string, number> = {};
        for (const [k, v] of Object.entries(r.memberCounts)) out[k] = Number(v);
        return ok(out);
      },
    },
  ];
}
