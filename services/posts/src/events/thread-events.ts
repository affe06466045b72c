/**
 * The collapsed-reply-thread events, each to one user's sessions with Mattermost's broadcast
 * (the team of the thread's channel, "" for direct and group channels, and the user):
 *   thread_updated         app/notification.go SendNotifications (a reply, to each follower)
 *   thread_read_changed    app/thread.go UpdateThreadReadForUser / UpdateThreadsReadForUser
 *   thread_follow_changed  app/thread.go UpdateThreadFollowForUser
 */
import { EventName, subjects } from "@switchboard/bus";
import { newEvent } from "@switchboard/model";
import type { OutboxEntry } from "@switchboard/outbox";

function userEntry(event: string, userId: string, teamId: string, data: Record<string, unknown>, now: number): OutboxEntry {
  return {
    subject: subjects.user(userId),
    partitionKey: userId,
    event: newEvent({ event, data, broadcast: { userId, teamId }, originTimeMs: now }),
  };
}

/** `thread_updated`: the user's ThreadResponse (extended) as a JSON string, and the unread counts before the reply. */
export function threadUpdatedEvent(
  userId: string,
  teamId: string,
  thread: Record<string, unknown>,
  previous: { readonly mentions: number; readonly replies: number },
  now: number,
): OutboxEntry {
  return userEntry(
    EventName.ThreadUpdated,
    userId,
    teamId,
    { thread: JSON.stringify(thread), previous_unread_mentions: previous.mentions, previous_unread_replies: previous.replies },
    now,
  );
}

export interface ThreadReadChange {
  readonly threadId: string;
  readonly channelId: string;
  readonly timestamp: number;
  readonly unreadMentions: number;
  readonly unreadReplies: number;
  readonly previousUnreadMentions: number;
  readonly previousUnreadReplies: number;
}

/** `thread_read_changed` for one thread. */
export function threadReadChangedEvent(userId: string, teamId: string, r: ThreadReadChange, now: number): OutboxEntry {
  return userEntry(
    EventName.ThreadReadChanged,
    userId,
    teamId,
    {
      thread_id: r.threadId,
      timestamp: r.timestamp,
      unread_mentions: r.unreadMentions,
      unread_replies: r.unreadReplies,
      previous_unread_mentions: r.previousUnreadMentions,
      previous_unread_replies: r.previousUnreadReplies,
      channel_id: r.channelId,
    },
    now,
  );
}

/** `thread_read_changed` with no data: every thread of the team was marked read. */
export function allThreadsReadEvent(userId: string, teamId: string, now: number): OutboxEntry {
  return userEntry(EventName.ThreadReadChanged, userId, teamId, {}, now);
}

/** `thread_follow_changed`. */
export function threadFollowChangedEvent(userId: string, teamId: string, threadId: string, state: boolean, replyCount: number, now: number): OutboxEntry {
  return userEntry(EventName.ThreadFollowChanged, userId, teamId, { thread_id: threadId, state, reply_count: replyCount }, now);
}
