/** A user's thread row (with its root post) as the UserThread message, and as Mattermost's ThreadResponse JSON. */
import { create } from "@bufbuild/protobuf";
import type { User } from "@switchboard/proto/accounts";
import { UserThreadSchema, type UserThread } from "@switchboard/proto/posts";
import { bareUserJson, threadToJson, userToJson } from "@switchboard/model";
import { postToProto, type PostRow } from "../posts/post-store.js";
import type { UserThreadRow } from "./thread-store.js";

export function userThreadToProto(t: UserThreadRow, root: PostRow | undefined): UserThread {
  return create(UserThreadSchema, {
    id: t.post_id,
    replyCount: BigInt(t.reply_count),
    lastReplyAt: BigInt(t.last_reply_at),
    lastViewedAt: BigInt(t.last_viewed),
    participantIds: [...t.participants],
    ...(root ? { post: postToProto(root) } : {}),
    unreadReplies: BigInt(t.unread_replies),
    unreadMentions: BigInt(t.unread_mentions),
    deleteAt: BigInt(t.thread_delete_at),
  });
}

/** The extended ThreadResponse of thread_updated: participants as sanitized users (ids only for users not found). */
export function extendedThreadJson(t: UserThread, profiles: ReadonlyMap<string, User>): Record<string, unknown> {
  return threadToJson(
    t,
    t.participantIds.map((id) => {
      const u = profiles.get(id);
      return u ? userToJson(u, { self: false, showEmail: false }) : bareUserJson(id);
    }),
  );
}
