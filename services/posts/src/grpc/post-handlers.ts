import { invalidArgument } from "@switchboard/model";
import type { PostsService as PostsServiceDesc } from "@switchboard/proto/posts";
import type { ImplOf } from "@switchboard/rpc";
import type { SessionAuth } from "@switchboard/auth";
import type { PostCreator } from "../posts/create-post.js";
import type { PostEditor } from "../posts/edit-post.js";
import { postToProto } from "../posts/post-store.js";
import { validateNewPost } from "../posts/post-validation.js";
import type { PostReader } from "../posts/read-posts.js";
import { reactionToProto } from "../reactions/reaction-store.js";
import type { ReactionService } from "../reactions/reaction-service.js";
import { callOf } from "./call-of.js";

type Impl = ImplOf<typeof PostsServiceDesc>;

export interface PostServices {
  readonly creator: PostCreator;
  readonly editor: PostEditor;
  readonly reader: PostReader;
  readonly reactions: ReactionService;
}

/** gRPC <-> domain for posts and reactions. */
export function postHandlers(
  s: PostServices,
  auth: SessionAuth,
): Pick<
  Impl,
  "createPost" | "patchPost" | "updatePost" | "deletePost" | "getPost" | "getPosts" | "getPostThread" | "addReaction" | "removeReaction" | "listReactions"
> {
  return {
    async createPost(req, ctx) {
      const call = await callOf(auth, ctx);
      const r = await s.creator.createPost(call, validateNewPost(req.post), req.setOnline);
      return { post: postToProto(r.post), created: r.created };
    },
    async patchPost(req, ctx) {
      const post = await s.editor.patchPost(await callOf(auth, ctx), req.postId, {
        ...(req.message !== undefined ? { message: req.message } : {}),
        ...(req.isPinned !== undefined ? { isPinned: req.isPinned } : {}),
        ...(req.propsJson !== undefined ? { propsJson: req.propsJson } : {}),
        ...(req.fileIdsSet ? { fileIds: req.fileIds } : {}),
      });
      return { post: postToProto(post) };
    },
    async updatePost(req, ctx) {
      const p = req.post;
      if (!p) throw invalidArgument("api.context.invalid_body_param.app_error", "The request has no post.");
      const post = await s.editor.patchPost(await callOf(auth, ctx), p.id, {
        message: p.message,
        isPinned: p.isPinned,
        propsJson: p.propsJson,
        fileIds: p.fileIds,
      });
      return { post: postToProto(post) };
    },
    async deletePost(req, ctx) {
      await s.editor.deletePost(await callOf(auth, ctx), req.postId);
      return {};
    },
    async getPost(req, ctx) {
      return { post: postToProto(await s.reader.getPost(await callOf(auth, ctx), req.postId, req.includeDeleted)) };
    },
    async getPosts(req, ctx) {
      const list = await s.reader.getPosts(await callOf(auth, ctx), {
        channelId: req.channelId,
        page: req.page,
        perPage: req.perPage,
        since: Number(req.since),
        before: req.before,
        after: req.after,
        collapsedThreads: req.collapsedThreads,
      });
      return { ...list, posts: list.posts.map(postToProto) };
    },
    async getPostThread(req, ctx) {
      const t = await s.reader.getPostThread(await callOf(auth, ctx), req.postId);
      return { order: t.order, posts: t.posts.map(postToProto) };
    },
    async addReaction(req, ctx) {
      const r = req.reaction;
      if (!r) throw invalidArgument("api.context.invalid_body_param.app_error", "The request has no reaction.");
      return { reaction: reactionToProto(await s.reactions.addReaction(await callOf(auth, ctx), r)) };
    },
    async removeReaction(req, ctx) {
      await s.reactions.removeReaction(await callOf(auth, ctx), req);
      return {};
    },
    async listReactions(req, ctx) {
      return { reactions: (await s.reactions.listReactions(await callOf(auth, ctx), req.postId)).map(reactionToProto) };
    },
  };
}
