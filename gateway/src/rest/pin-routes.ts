import { postToJson } from "@switchboard/model";
import { idParam } from "./body.js";
import { idListBody } from "./id-list-body.js";
import { postListJson } from "./post-list-json.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, statusOk, type RouteSpec } from "./rest-types.js";

/** Pins, a channel's pinned posts, posts by id (api4/post.go, api4/channel.go getPinnedPosts). */
export function pinRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  const pin = (pinned: boolean): RouteSpec["handler"] =>
    async function (req) {
      const c = await d.auth.caller(req);
      await d.posts.setPostPinned({ postId: idParam(req, "post_id"), pinned }, opts(c.token));
      return statusOk();
    };
  return [
    { method: "post", pattern: "/api/v4/posts/:post_id/pin", handler: pin(true) },
    { method: "post", pattern: "/api/v4/posts/:post_id/unpin", handler: pin(false) },
    {
      method: "get",
      pattern: "/api/v4/channels/:channel_id/pinned",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.posts.getPinnedPosts({ channelId: idParam(req, "channel_id") }, opts(c.token));
        return ok(postListJson(r.order, r.posts));
      },
    },
    {
      method: "post",
      pattern: "/api/v4/posts/ids",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.posts.getPostsByIds({ postIds: idListBody(req, "post_ids") }, opts(c.token));
        return ok(r.posts.map(postToJson));
      },
    },
  ];
}
