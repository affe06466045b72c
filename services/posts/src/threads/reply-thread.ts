/**
 * What a reply does to its thread, inside CreatePost's transaction (app/notification.go
 * SendNotifications with ThreadAutoFollow and collapsed threads on, store MaintainMembership):
 *   - the thread row counts the reply and adds the replier to its participants;
 *   - the replier, the root's author, the channel members the root names (@username) and
 *     every user the reply mentions get a following membership; those the reply mentions one
 *     more unread mention; a user who unfollowed the thread stays unfollowed unless mentioned;
 *   - each follower still in the channel gets `thread_updated` with their view of the thread
 *     and their unread counts before the reply (0 and 0 for a new follower);
 *   - the replier has then read the thread (last_viewed now, no unread mention).
 * The root's @channel, @all and @here make no followers here (Mattermost's rootMentions would
 * make every member with channel-wide mentions on a participant).
 */
import type { Queryable } from "@switchboard/db";
import type { OutboxEntry } from "@switchboard/outbox";
import type { User } from "@switchboard/proto/accounts";
import { threadUpdatedEvent } from "../events/thread-events.js";
import { postById, type PostRow } from "../posts/post-store.js";
import { followersOf, followOnReply, lockMemberships, markViewedByReplier, recordReply } from "./thread-store.js";
import { extendedThreadJson, userThreadToProto } from "./thread-rows.js";

export interface ReplyInThread {
  readonly post: PostRow;
  readonly teamId: string;
  readonly rootAuthorId: string;
  /** Channel members the root post names with @username. */
  readonly rootMentionedUserIds: readonly string[];
  /** Users the reply mentions (never the replier). */
  readonly mentionedUserIds: readonly string[];
  /** Profiles of the thread's participants, read before the transaction. */
  readonly profiles: ReadonlyMap<string, User>;
  readonly now: number;
}

export async function threadOnReply(q: Queryable, r: ReplyInThread): Promise<OutboxEntry[]> {
  const { post } = r;
  const rootId = post.root_id;
  await recordReply(q, { rootId, channelId: post.channel_id, teamId: r.teamId, userId: post.user_id, createAt: post.create_at });
  const mentioned = new Set(r.mentionedUserIds);
  const involved = [...new Set([post.user_id, r.rootAuthorId, ...r.rootMentionedUserIds, ...r.mentionedUserIds])].filter((id) => id !== "");
  const before = await lockMemberships(q, rootId, involved);
  await followOnReply(
    q,
    rootId,
    involved.map((id) => ({ id, mentioned: mentioned.has(id) })),
    r.now,
  );
  const followers = await followersOf(q, rootId);
  const root = await postById(q, rootId);
  const viewedAt = Math.max(r.now, post.create_at);
  const events: OutboxEntry[] = [];
  for (const f of followers) {
    const wasFollowing = before.get(f.user_id)?.following === true;
    const previous = wasFollowing
      ? { mentions: mentioned.has(f.user_id) ? Math.max(f.unread_mentions - 1, 0) : f.unread_mentions, replies: Math.max(f.unread_replies - 1, 0) }
      : { mentions: 0, replies: 0 };
    const view = f.user_id === post.user_id ? { ...f, last_viewed: viewedAt, unread_mentions: 0, unread_replies: 0 } : f;
    const thread = extendedThreadJson(userThreadToProto(view, root), r.profiles);
    events.push(threadUpdatedEvent(f.user_id, r.teamId, thread, previous, r.now));
  }
  if (followers.some((f) => f.user_id === post.user_id)) await markViewedByReplier(q, rootId, post.user_id, viewedAt);
  return events;
}
