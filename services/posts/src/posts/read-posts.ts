/**
 * Reading posts: one post, a channel's PostList (page, since, before, after; newest first,
 * with Mattermost's next/prev cursors), a thread. Members and system admins only.
 */
import { invalidArgument } from "@switchboard/model";
import { canReadContent, loadChannelAccess, requireReader } from "../channels/channel-access.js";
import type { Call, Deps } from "../deps.js";
import { channelNotFound, denied, postNotFound } from "../errors.js";
import { optionalId, pageParams, requireId } from "../validation.js";
import { pinnedPosts, postIdAfter, postIdBefore, postsAfter, postsBefore, postsByIds, postsPage, postsSince, threadFacts } from "./post-list-store.js";

/** Post ids one call may ask for (api4/post.go getPostsByIds). */
const MAX_POST_IDS = 1000;
import { postById, threadPosts, type PostRow } from "./post-store.js";

export interface PostList {
  readonly order: string[];
  readonly posts: PostRow[];
  readonly nextPostId: string;
  readonly prevPostId: string;
  readonly hasNext: boolean;
}

export interface PostListQuery {
  readonly channelId: string;
  readonly page: number;
  readonly perPage: number;
  readonly since: number;
  readonly before: string;
  readonly after: string;
  /** Mattermost's collapsedThreads: root posts only, with their threads' facts for the caller. */
  readonly collapsedThreads: boolean;
}

export function createPostReader(d: Deps) {
  const { db } = d;

  async function readable(call: Call, channelId: string) {
    return requireReader(await loadChannelAccess(db, channelId, call.actor.userId), call.actor);
  }

  /**
   * Mattermost's GetChannel then SessionHasPermissionToReadChannel (getPostsForChannel,
   * getPinnedPosts): an unknown channel is 404; a channel whose content the caller may not read
   * (members, team members for a public one, system admins) is 403, a private one included.
   */
  async function requireContentReader(call: Call, channelId: string): Promise<void> {
    const a = await loadChannelAccess(db, channelId, call.actor.userId);
    if (!a) throw channelNotFound();
    if (!canReadContent(a, call.actor)) throw denied();
  }

  /**
   * One post, as app/post.go GetPostIfAuthorized answers: a missing (or deleted) post is 404
   * before anything else; then whoever may read the channel's content gets it (members, team
   * members for a public channel, system admins) and everyone else is 403, a private
   * channel's post included (Mattermost does not hide that the post exists).
   */
  async function getPost(call: Call, postId: string, includeDeleted: boolean): Promise<PostRow> {
    requireId(postId, "post_id");
    if (includeDeleted && !call.actor.isSystemAdmin) throw denied("Only system admins may read deleted posts.");
    const post = await postById(db, postId);
    if (!post || (Number(post.delete_at) !== 0 && !includeDeleted)) throw postNotFound();
    await requireContentReader(call, post.channel_id);
    return post;
  }

  /** A cursor post (before/after) must be a post of the same channel. */
  async function cursor(channelId: string, postId: string): Promise<PostRow> {
    const p = await postById(db, postId);
    if (!p || p.channel_id !== channelId) throw postNotFound();
    return p;
  }

  async function getPosts(call: Call, q: PostListQuery): Promise<PostList> {
    requireId(q.channelId, "channel_id");
    optionalId(q.before, "before");
    optionalId(q.after, "after");
    if (q.since < 0) throw invalidArgument("api.context.invalid_url_param.app_error", "Invalid since parameter: must be a Unix time in ms.");
    const { page, perPage } = pageParams(q.page, q.perPage);
    await requireContentReader(call, q.channelId);
    const roots = q.collapsedThreads;
    let rows: PostRow[];
    let more = false;
    const offset = page * perPage;
    if (q.since > 0) {
      rows = await postsSince(db, q.channelId, q.since, roots);
    } else if (q.after !== "") {
      const c = await cursor(q.channelId, q.after);
      rows = await postsAfter(db, q.channelId, Number(c.create_at), offset, perPage, roots);
    } else {
      const before = q.before !== "" ? Number((await cursor(q.channelId, q.before)).create_at) : undefined;
      const fetched =
        before !== undefined
          ? await postsBefore(db, q.channelId, before, offset, perPage + 1, roots)
          : await postsPage(db, q.channelId, offset, perPage + 1, roots);
      more = fetched.length > perPage;
      rows = fetched.slice(0, perPage);
    }
    // Mattermost's AddCursorIdsForPostList.
    let nextPostId = "";
    let prevPostId = "";
    const newest = rows[0];
    const oldest = rows[rows.length - 1];
    if (q.since === 0) {
      if (q.after !== "" && page === 0) prevPostId = q.after;
      else if (oldest) prevPostId = await postIdBefore(db, q.channelId, Number(oldest.create_at), roots);
      if (q.before !== "" && page === 0) nextPostId = q.before;
      else if (newest) nextPostId = await postIdAfter(db, q.channelId, Number(newest.create_at), roots);
    }
    if (roots) {
      // Root posts only, each with its thread as the caller sees it (prepareThreadedResponse).
      const facts = await threadFacts(
        db,
        rows.map((r) => r.id),
        call.actor.userId,
      );
      const posts = rows.map((r) => {
        const t = facts.get(r.id);
        if (!t) return r;
        return { ...r, reply_count: t.reply_count, last_reply_at: t.last_reply_at, participants: t.participants, is_following: t.following ?? undefined };
      });
      return { order: rows.map((r) => r.id), posts, nextPostId, prevPostId, hasNext: more };
    }
    // Replies come with their thread's root, as Mattermost's lists do (the root is not in `order`).
    const have = new Set(rows.map((r) => r.id));
    const parents = [...new Set(rows.map((r) => r.root_id).filter((id) => id !== "" && !have.has(id)))];
    const extra = await postsByIds(db, parents);
    return { order: rows.map((r) => r.id), posts: [...rows, ...extra], nextPostId, prevPostId, hasNext: more };
  }

  async function getPostThread(call: Call, postId: string): Promise<{ order: string[]; posts: PostRow[] }> {
    requireId(postId, "post_id");
    const post = await postById(db, postId);
    if (!post || Number(post.delete_at) !== 0) throw postNotFound();
    await readable(call, post.channel_id);
    const rootId = post.root_id || post.id;
    const posts = await threadPosts(db, rootId);
    if (!posts.some((p) => p.id === rootId)) throw postNotFound();
    return { order: posts.map((p) => p.id).reverse(), posts };
  }

  /**
   * A channel's pinned posts, newest first (api4/channel.go getPinnedPosts): readers of the
   * channel (members, team members for a public one); others 403, an unknown channel 404.
   */
  async function getPinnedPosts(call: Call, channelId: string): Promise<{ order: string[]; posts: PostRow[] }> {
    requireId(channelId, "channel_id");
    await requireContentReader(call, channelId);
    const posts = await pinnedPosts(db, channelId);
    return { order: posts.map((p) => p.id), posts };
  }

  /**
   * Posts by id (api4/post.go getPostsByIds): the live ones whose channel the caller may read;
   * the others are left out, not refused.
   */
  async function getPostsByIds(call: Call, ids: readonly string[]): Promise<PostRow[]> {
    if (ids.length === 0 || ids.length > MAX_POST_IDS) throw invalidArgument("api.post.posts_by_ids.invalid_body.request_error", "Invalid post_ids.");
    for (const id of ids) requireId(id, "post_ids");
    const rows = (await postsByIds(db, [...new Set(ids)])).filter((p) => Number(p.delete_at) === 0);
    const readable = new Map<string, boolean>();
    for (const channelId of new Set(rows.map((p) => p.channel_id))) {
      const a = await loadChannelAccess(db, channelId, call.actor.userId);
      readable.set(channelId, a !== undefined && canReadContent(a, call.actor));
    }
    return rows.filter((p) => readable.get(p.channel_id) === true);
  }

  return { getPost, getPosts, getPostThread, getPinnedPosts, getPostsByIds };
}

export type PostReader = ReturnType<typeof createPostReader>;
