import { jsonBytes, postToJson, reactionToJson, userToJson } from "@switchboard/model";
import { postListJson } from "./post-list-json.js";
import type { Post } from "@switchboard/proto/posts";
import { boolQuery, idParam, intQuery, invalidBody, invalidUrlParam, jsonObject, optionalId, pageQuery, requiredId, str } from "./body.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, statusOk, type RouteSpec } from "./rest-types.js";

type PostInit = Partial<Omit<Post, "$typeName" | "$unknown">>;

function objectField(b: Record<string, unknown>, key: string): Uint8Array | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw invalidBody(key);
  return jsonBytes(v);
}

function fileIds(b: Record<string, unknown>): string[] | undefined {
  const v = b.file_ids;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw invalidBody("file_ids");
  return v;
}

/** The editable and creatable fields of a Mattermost Post body. */
function postFromBody(b: Record<string, unknown>): PostInit {
  const props = objectField(b, "props");
  const metadata = objectField(b, "metadata");
  const files = fileIds(b);
  return {
    channelId: optionalId(b, "channel_id"),
    rootId: optionalId(b, "root_id"),
    message: str(b, "message"),
    type: str(b, "type"),
    pendingPostId: str(b, "pending_post_id"),
    ...(props ? { propsJson: props } : {}),
    ...(metadata ? { metadataJson: metadata } : {}),
    ...(files ? { fileIds: files } : {}),
    isPinned: b.is_pinned === true,
  };
}

/** Posts and reactions (api4/post.go, api4/reaction.go). */
export function postsRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  return [
    {
      method: "post",
      pattern: "/api/v4/posts",
      async handler(req) {
        const c = await d.auth.caller(req);
        const b = jsonObject(req, "post");
        requiredId(b, "channel_id");
        const r = await d.posts.createPost({ post: postFromBody(b), setOnline: req.query.get("set_online") !== "false" }, opts(c.token));
        return ok(postToJson(r.post!), 201);
      },
    },
    {
      method: "get",
      pattern: "/api/v4/posts/:post_id",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.posts.getPost({ postId: idParam(req, "post_id"), includeDeleted: req.query.get("include_deleted") === "true" }, opts(c.token));
        return ok(postToJson(r.post!));
      },
    },
    {
      method: "put",
      pattern: "/api/v4/posts/:post_id/patch",
      async handler(req) {
        const c = await d.auth.caller(req);
        const b = jsonObject(req, "post");
        const files = fileIds(b);
        const props = objectField(b, "props");
        const r = await d.posts.patchPost(
          {
            postId: idParam(req, "post_id"),
            ...(typeof b.message === "string" ? { message: b.message } : {}),
            ...(typeof b.is_pinned === "boolean" ? { isPinned: b.is_pinned } : {}),
            ...(props ? { propsJson: props } : {}),
            ...(files ? { fileIds: files, fileIdsSet: true } : {}),
          },
          opts(c.token),
        );
        return ok(postToJson(r.post!));
      },
    },
    {
      method: "put",
      pattern: "/api/v4/posts/:post_id",
      async handler(req) {
        const c = await d.auth.caller(req);
        const id = idParam(req, "post_id");
        const b = jsonObject(req, "post");
        if (b.id !== undefined && b.id !== id) throw invalidUrlParam("post_id");
        const r = await d.posts.updatePost({ post: { ...postFromBody(b), id } }, opts(c.token));
        return ok(postToJson(r.post!));
      },
    },
    {
      method: "del",
      pattern: "/api/v4/posts/:post_id",
      async handler(req) {
        const c = await d.auth.caller(req);
        await d.posts.deletePost({ postId: idParam(req, "post_id") }, opts(c.token));
        return statusOk();
      },
    },
    {
      method: "get",
      pattern: "/api/v4/channels/:channel_id/posts",
      async handler(req) {
        const c = await d.auth.caller(req);
        const since = intQuery(req, "since", 0, 0, Number.MAX_SAFE_INTEGER);
        const before = req.query.get("before") ?? "";
        const after = req.query.get("after") ?? "";
        const collapsedThreads = boolQuery(req, "collapsedThreads");
        const r = await d.posts.getPosts(
          {
            channelId: idParam(req, "channel_id"),
            ...pageQuery(req),
            since: BigInt(since),
            before,
            after,
            collapsedThreads,
          },
          opts(c.token),
        );
        // collapsedThreadsExtended: the participants as sanitized profiles (GetProfileByIds,
        // SanitizeProfile); getPostsForChannel does not pass it on for `after` alone.
        const extended = collapsedThreads && boolQuery(req, "collapsedThreadsExtended") && (since > 0 || after === "");
        const wanted = extended ? [...new Set(r.posts.flatMap((p) => p.participantIds))] : [];
        const users = wanted.length > 0 ? (await d.accounts.getUsers({ userIds: wanted }, opts(c.token))).users : [];
        const profiles = new Map(users.map((u) => [u.id, userToJson(u, { self: false, showEmail: false })]));
        return ok(postListJson(r.order, r.posts, r, profiles));
      },
    },
    {
      method: "get",
      pattern: "/api/v4/posts/:post_id/thread",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.posts.getPostThread({ postId: idParam(req, "post_id") }, opts(c.token));
        return ok(postListJson(r.order, r.posts));
      },
    },
    {
      method: "post",
      pattern: "/api/v4/reactions",
      async handler(req) {
        const c = await d.auth.caller(req);
        const b = jsonObject(req, "reaction");
        const r = await d.posts.addReaction(
          { reaction: { userId: requiredId(b, "user_id"), postId: requiredId(b, "post_id"), emojiName: str(b, "emoji_name") } },
          opts(c.token),
        );
        return ok(reactionToJson(r.reaction!));
      },
    },
    {
      method: "get",
      pattern: "/api/v4/posts/:post_id/reactions",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.posts.listReactions({ postId: idParam(req, "post_id") }, opts(c.token));
        return ok(r.reactions.map(reactionToJson));
      },
    },
    {
      method: "del",
      pattern: "/api/v4/users/:user_id/posts/:post_id/reactions/:emoji_name",
      async handler(req) {
        const c = await d.auth.caller(req);
        await d.posts.removeReaction(
          { userId: idParam(req, "user_id"), postId: idParam(req, "post_id"), emojiName: req.params.emoji_name ?? "" },
          opts(c.token),
        );
        return statusOk();
      },
    },
  ];
}
