import type { UserThread } from "@switchboard/proto/posts";
import { postToJson } from "./post-json.js";

/**
 * Mattermost's ThreadResponse JSON (server/public/model/thread.go): one user's view of a
 * thread. `participants` are rendered by the caller (full users when extended, ids only
 * otherwise); is_urgent is false (no post priority here), props is omitted (omitempty).
 */
export function threadToJson(t: UserThread, participants: readonly Record<string, unknown>[]): Record<string, unknown> {
  return {
    id: t.id,
    reply_count: Number(t.replyCount),
    last_reply_at: Number(t.lastReplyAt),
    last_viewed_at: Number(t.lastViewedAt),
    participants: [...participants],
    post: t.post ? postToJson(t.post) : null,
    unread_replies: Number(t.unreadReplies),
    unread_mentions: Number(t.unreadMentions),
    is_urgent: false,
    delete_at: Number(t.deleteAt),
  };
}
