import type { Post, Reaction } from "@switchboard/proto/posts";
import { parseJsonObject } from "./json-bytes.js";

/** Mattermost's Post JSON (server/public/model/post.go field order). */
export function postToJson(p: Post): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: p.id,
    create_at: Number(p.createAt),
    update_at: Number(p.updateAt),
    edit_at: Number(p.editAt),
    delete_at: Number(p.deleteAt),
    is_pinned: p.isPinned,
    user_id: p.userId,
    channel_id: p.channelId,
    root_id: p.rootId,
    original_id: p.originalId,
    message: p.message,
    type: p.type,
    props: parseJsonObject(p.propsJson),
    hashtags: p.hashtags,
    file_ids: [...p.fileIds],
    pending_post_id: p.pendingPostId,
  };
  if (p.hasReactions) out.has_reactions = true;
  out.reply_count = Number(p.replyCount);
  out.last_reply_at = Number(p.lastReplyAt);
  out.participants = null;
  out.metadata = parseJsonObject(p.metadataJson);
  return out;
}

/** Mattermost's Reaction JSON. */
export function reactionToJson(r: Reaction): Record<string, unknown> {
  return {
    user_id: r.userId,
    post_id: r.postId,
    emoji_name: r.emojiName,
    create_at: Number(r.createAt),
    update_at: Number(r.updateAt),
    delete_at: Number(r.deleteAt),
    remote_id: "",
    channel_id: r.channelId,
  };
}
