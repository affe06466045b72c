import { channelMemberToJson, channelToJson } from "@switchboard/model";
import { idParam, invalidBody, jsonObject, jsonStringArray, optionalId, pageQuery, requiredId, str, userParam } from "./body.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, statusOk, type RouteSpec } from "./rest-types.js";

/** Channels and channel members (api4/channel.go). */
export function channelsRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  return [
    {
      method: "post",
      pattern: "/api/v4/channels",
      async handler(req) {
        const c = await d.auth.caller(req);
        const b = jsonObject(req, "channel");
        const r = await d.posts.createChannel(
          {
            teamId: requiredId(b, "team_id"),
            name: str(b, "name"),
            displayName: str(b, "display_name"),
            type: str(b, "type") || "O",
            purpose: str(b, "purpose"),
            header: str(b, "header"),
          },
          opts(c.token),
        );
        return ok(channelToJson(r.channel!), 201);
      },
    },
    {
      method: "post",
      pattern: "/api/v4/channels/direct",
      async handler(req) {
        const c = await d.auth.caller(req);
        const ids = jsonStringArray(req, "user_ids", 2);
        if (ids.length !== 2) throw invalidBody("user_ids");
        const r = await d.posts.createDirectChannel({ userId1: ids[0]!, userId2: ids[1]! }, opts(c.token));
        return ok(channelToJson(r.channel!), 201);
      },
    },
    {
      method: "post",
      pattern: "/api/v4/channels/group",
      async handler(req) {
        const c = await d.auth.caller(req);
        const ids = jsonStringArray(req, "user_ids", 8);
        const r = await d.posts.createGroupChannel({ userIds: ids.includes(c.actor.userId) ? ids : [...ids, c.actor.userId] }, opts(c.token));
        return ok(channelToJson(r.channel!), 201);
      },
    },
    {
      method: "get",
      pattern: "/api/v4/channels/:channel_id",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.posts.getChannel({ channelId: idParam(req, "channel_id") }, opts(c.token));
        return ok(channelToJson(r.channel!));
      },
    },
    {
      // api4/channel.go updateChannelPrivacy: {"privacy": "O" | "P"}; the channel as it is now.
      method: "put",
      pattern: "/api/v4/channels/:channel_id/privacy",
      async handler(req) {
        const c = await d.auth.caller(req);
        const b = jsonObject(req, "privacy");
        const privacy = b.privacy;
        if (privacy !== "O" && privacy !== "P") throw invalidBody("privacy");
        const r = await d.posts.updateChannelPrivacy({ channelId: idParam(req, "channel_id"), privacy }, opts(c.token));
        return ok(channelToJson(r.channel!));
      },
    },
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/teams/:team_id/channels",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const r = await d.posts.listChannelsForUser(
          { userId, teamId: idParam(req, "team_id"), includeDeleted: req.query.get("include_deleted") === "true" },
          opts(c.token),
        );
        return ok(r.channels.map(channelToJson));
      },
    },
    {
      method: "post",
      pattern: "/api/v4/channels/:channel_id/members",
      async handler(req) {
        const c = await d.auth.caller(req);
        const b = jsonObject(req, "channel_member");
        const r = await d.posts.addChannelMember({ channelId: idParam(req, "channel_id"), userId: requiredId(b, "user_id") }, opts(c.token));
        return ok(channelMemberToJson(r.member!), 201);
      },
    },
    {
      method: "get",
      pattern: "/api/v4/channels/:channel_id/members",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.posts.listChannelMembers({ channelId: idParam(req, "channel_id"), ...pageQuery(req) }, opts(c.token));
        return ok(r.members.map(channelMemberToJson));
      },
    },
    {
      method: "del",
      pattern: "/api/v4/channels/:channel_id/members/:user_id",
      async handler(req) {
        const c = await d.auth.caller(req);
        await d.posts.removeChannelMember({ channelId: idParam(req, "channel_id"), userId: idParam(req, "user_id") }, opts(c.token));
        return statusOk();
      },
    },
    {
      method: "post",
      pattern: "/api/v4/channels/members/:user_id/view",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const b = jsonObject(req, "channel_view");
        const r = await d.posts.viewChannel({ userId, channelId: optionalId(b, "channel_id"), prevChannelId: optionalId(b, "prev_channel_id") }, opts(c.token));
        const times: Record<string, number> = {};
        for (const [k, v] of Object.entries(r.lastViewedAtTimes)) times[k] = Number(v);
        return ok({ status: "OK", last_viewed_at_times: times });
      },
    },
  ];
}
