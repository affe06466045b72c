import { create } from "@bufbuild/protobuf";
import type { Queryable } from "@switchboard/db";
import { jsonBytes } from "@switchboard/model";
import { PostSchema, type Post } from "@switchboard/proto/posts";

export interface PostRow {
  id: string;
  create_at: number;
  update_at: number;
  edit_at: number;
  delete_at: number;
  is_pinned: boolean;
  user_id: string;
  channel_id: string;
  root_id: string;
  original_id: string;
  message: string;
  type: string;
  props: Record<string, unknown>;
  hashtags: string;
  file_ids: string[];
  pending_post_id: string;
  reply_count: number;
  last_reply_at: number;
  has_reactions: boolean;
  metadata: Record<string, unknown>;
  /** Collapsed-thread lists only: the thread's participants and the caller's following (not columns of posts). */
  participants?: string[];
  is_following?: boolean;
}

/** A post row: the fields given, Mattermost's zero values for the rest. */
export function newPostRow(p: Pick<PostRow, "id" | "create_at" | "channel_id" | "message"> & Partial<PostRow>): PostRow {
  return {
    update_at: 0,
    edit_at: 0,
    delete_at: 0,
    is_pinned: false,
    user_id: "",
    root_id: "",
    original_id: "",
    type: "",
    props: {},
    hashtags: "",
    file_ids: [],
    pending_post_id: "",
    reply_count: 0,
    last_reply_at: 0,
    has_reactions: false,
    metadata: {},
    ...p,
  };
}

export const POST_COLUMNS =
  "id, create_at, update_at, edit_at, delete_at, is_pinned, user_id, channel_id, root_id, original_id, message, type, props, hashtags, file_ids, pending_post_id, reply_count, last_reply_at, has_reactions, metadata";

export function postToProto(r: PostRow): Post {
  return create(PostSchema, {
    id: r.id,
    createAt: BigInt(r.create_at),
    updateAt: BigInt(r.update_at),
    editAt: BigInt(r.edit_at),
    deleteAt: BigInt(r.delete_at),
    isPinned: r.is_pinned,
    userId: r.user_id,
    channelId: r.channel_id,
    rootId: r.root_id,
    originalId: r.original_id,
    message: r.message,
    type: r.type,
    propsJson: jsonBytes(r.props),
    hashtags: r.hashtags,
    fileIds: [...r.file_ids],
    pendingPostId: r.pending_post_id,
    replyCount: BigInt(r.reply_count),
    lastReplyAt: BigInt(r.last_reply_at),
    hasReactions: r.has_reactions,
    metadataJson: jsonBytes(r.metadata),
    participantIds: r.participants ?? [],
    ...(r.is_following !== undefined ? { isFollowing: r.is_following } : {}),
  });
}

export async function postByPendingId(q: Queryable, userId: string, pendingPostId: string): Promise<PostRow | undefined> {
  return (await q.query<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE user_id = $1 AND pending_post_id = $2`, [userId, pendingPostId], { prepare: true }))
    .rows[0];
}

export async function postById(q: Queryable, id: string): Promise<PostRow | undefined> {
  return (await q.query<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE id = $1`, [id], { prepare: true })).rows[0];
}

/** Root post and its live replies, oldest first. */
export async function threadPosts(q: Queryable, rootId: string): Promise<PostRow[]> {
  return (await q.query<PostRow>(`SELECT ${POST_COLUMNS} FROM posts WHERE (id = $1 OR root_id = $1) AND delete_at = 0 ORDER BY create_at, id`, [rootId])).rows;
}

/** Writes the editable fields of a post and returns the new row. */
export async function updatePostFields(q: Queryable, r: PostRow): Promise<PostRow> {
  const { rows } = await q.query<PostRow>(
    `UPDATE posts SET message = $2, is_pinned = $3, props = $4::jsonb, file_ids = $5, hashtags = $6, edit_at = $7, update_at = $8
     WHERE id = $1 RETURNING ${POST_COLUMNS}`,
    [r.id, r.message, r.is_pinned, JSON.stringify(r.props), r.file_ids, r.hashtags, r.edit_at, r.update_at],
  );
  return rows[0]!;
}

/** Soft-deletes a post and, for a root, its replies (Mattermost's Post.Delete). */
export async function softDeletePost(q: Queryable, post: PostRow, deleteBy: string, now: number): Promise<void> {
  await q.query(
    `UPDATE posts SET delete_at = $2, update_at = $2, props = jsonb_set(props, '{deleteBy}', to_jsonb($3::text))
     WHERE (id = $1 OR root_id = $1) AND delete_at = 0`,
    [post.id, now, deleteBy],
  );
  if (post.root_id !== "") {
    await q.query(
      `UPDATE posts SET reply_count = GREATEST(reply_count - 1, 0), update_at = $2,
         last_reply_at = COALESCE((SELECT max(create_at) FROM posts WHERE root_id = $1 AND delete_at = 0), 0)
       WHERE id = $1`,
      [post.root_id, now],
    );
    // The thread follows its root (Mattermost's updateThreadAfterReplyDeletion).
    await q.query(
      `UPDATE threads SET reply_count = GREATEST(reply_count - 1, 0),
         last_reply_at = COALESCE((SELECT max(create_at) FROM posts WHERE root_id = $1 AND delete_at = 0), 0)
       WHERE post_id = $1`,
      [post.root_id],
    );
  } else {
    // A deleted root deletes its thread (Threads.ThreadDeleteAt).
    await q.query("UPDATE threads SET thread_delete_at = $2 WHERE post_id = $1", [post.id, now]);
  }
}
