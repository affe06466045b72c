/**
 * The Mattermost WebSocket events this service emits, shaped as the Mattermost server shapes
 * them (docs/protocol.md §4.2: app/post.go, app/notification.go, app/channel.go, app/reaction.go,
 * app/team.go), plus Switchboard's envelope extras: the subject, the outbox partition, the
 * membership fact an edge must apply first, posted hints, change_id and channel_seq.
 *
 * Every event of a channel's change uses the channel id as its partition key, including the
 * copies addressed to one user, so a user learns of a membership before any later event of
 * that channel. All copies of one change share its change_id and channel_seq (channel-seq.ts:
 * which events are in a channel's sequence, which are not and why).
 */
import { create } from "@bufbuild/protobuf";
import { EventName, subjects } from "@switchboard/bus";
import { newEvent, newId, postToJson, reactionToJson } from "@switchboard/model";
import type { OutboxEntry } from "@switchboard/outbox";
import { MembershipChange_Kind, MembershipChangeSchema, PostedHintsSchema, type MembershipChange } from "@switchboard/proto/events";
import type { ChannelRow } from "../channels/channel-store.js";
import { newPostRow, postToProto, type PostRow } from "../posts/post-store.js";
import { reactionToProto, type ReactionRow } from "../reactions/reaction-store.js";

/** One change to one channel: which channel, its position in the channel's stream, and its id. */
export interface ChannelChange {
  readonly channelId: string;
  /** "" for direct and group channels. */
  readonly teamId: string;
  /** The change's number in the channel's sequence; undefined: the statement writing the events takes it (post-write.ts). */
  readonly seq: bigint | undefined;
  readonly changeId: string;
  readonly now: number;
}

export function channelChange(channel: Pick<ChannelRow, "id" | "team_id">, seq: bigint | undefined, now: number): ChannelChange {
  return { channelId: channel.id, teamId: channel.team_id, seq, changeId: newId(), now };
}

const postJson = (p: PostRow): string => JSON.stringify(postToJson(postToProto(p)));

function membership(kind: MembershipChange_Kind, userId: string, channelId: string, teamId: string): MembershipChange {
  return create(MembershipChangeSchema, { kind, userId, channelId, teamId });
}

/** An event of a channel change published on `subject`, partitioned by the channel. */
function channelEntry(
  c: ChannelChange,
  subject: string,
  e: { event: string; data: Record<string, unknown>; broadcast: Parameters<typeof newEvent>[0]["broadcast"]; membership?: MembershipChange },
  extra: Partial<Parameters<typeof newEvent>[0]> = {},
): OutboxEntry {
  return {
    subject,
    partitionKey: c.channelId,
    event: newEvent({ ...e, changeId: c.changeId, originTimeMs: c.now, ...extra }),
    // In the outbox row, not the encoded event: the relay appends it (channel-seq.ts).
    channelSeq: c.seq,
  };
}

export interface PostedInput {
  readonly post: PostRow;
  readonly channel: Pick<ChannelRow, "type" | "display_name" | "name">;
  readonly senderUsername: string;
  readonly setOnline: boolean;
  readonly mentionedUserIds: readonly string[];
  readonly followerUserIds: readonly string[];
}

/** `posted` (app/notification.go): the post as a JSON string plus the channel and sender facts. */
export function postedEvents(c: ChannelChange, p: PostedInput): OutboxEntry[] {
  const sender = `@${p.senderUsername}`;
  const data: Record<string, unknown> = {
    channel_display_name: p.channel.type === "D" ? sender : p.channel.display_name,
    channel_name: p.channel.name,
    channel_type: p.channel.type,
    post: postJson(p.post),
    sender_name: sender,
    set_online: p.setOnline,
    team_id: c.teamId,
  };
  if (p.post.file_ids.length > 0) data.otherFile = "true";
  const posted = create(PostedHintsSchema, {
    mentionedUserIds: [...p.mentionedUserIds],
    followerUserIds: [...p.followerUserIds],
    channelType: p.channel.type,
    senderId: p.post.user_id,
  });
  return [channelEntry(c, subjects.channel(c.channelId), { event: EventName.Posted, data, broadcast: { channelId: c.channelId } }, { posted })];
}

/** `post_edited` (app/post.go UpdatePost). */
export function postEditedEvents(c: ChannelChange, post: PostRow): OutboxEntry[] {
  return [
    channelEntry(c, subjects.channel(c.channelId), { event: EventName.PostEdited, data: { post: postJson(post) }, broadcast: { channelId: c.channelId } }),
  ];
}

/**
 * `post_deleted` (app/post.go DeletePost): one copy for users without manage_system, one for
 * those with it that also names who deleted the post. Like Mattermost, the post is rendered
 * as it was read before the delete.
 */
export function postDeletedEvents(c: ChannelChange, post: PostRow, deleteBy: string): OutboxEntry[] {
  const subject = subjects.channel(c.channelId);
  const json = postJson(post);
  return [
    channelEntry(c, subject, { event: EventName.PostDeleted, data: { post: json }, broadcast: { channelId: c.channelId, containsSanitizedData: true } }),
    channelEntry(c, subject, {
      event: EventName.PostDeleted,
      data: { delete_by: deleteBy, post: json },
      broadcast: { channelId: c.channelId, containsSensitiveData: true },
    }),
  ];
}

/** `reaction_added` / `reaction_removed` (app/reaction.go sendReactionEvent). */
export function reactionEvents(c: ChannelChange, kind: typeof EventName.ReactionAdded | typeof EventName.ReactionRemoved, r: ReactionRow): OutboxEntry[] {
  const reaction = JSON.stringify(reactionToJson(reactionToProto(r)));
  return [channelEntry(c, subjects.channel(c.channelId), { event: kind, data: { reaction }, broadcast: { channelId: c.channelId } })];
}

/**
 * `user_added` (app/channel.go AddUserToChannel): one copy to the channel without the added
 * user, one to the added user (who may not be routed to the channel yet).
 */
export function userAddedEvents(c: ChannelChange, userId: string): OutboxEntry[] {
  const m = membership(MembershipChange_Kind.CHANNEL_ADDED, userId, c.channelId, c.teamId);
  const data = { team_id: c.teamId, user_id: userId };
  return [
    channelEntry(c, subjects.channel(c.channelId), {
      event: EventName.UserAdded,
      data,
      broadcast: { channelId: c.channelId, omitUsers: [userId] },
      membership: m,
    }),
    channelEntry(c, subjects.user(userId), { event: EventName.UserAdded, data, broadcast: { userId, channelId: c.channelId }, membership: m }),
  ];
}

/** `user_removed` (app/channel.go removeUserFromChannel): to the remaining members and to the removed user. */
export function userRemovedEvents(c: ChannelChange, userId: string, removerId: string): OutboxEntry[] {
  const m = membership(MembershipChange_Kind.CHANNEL_REMOVED, userId, c.channelId, c.teamId);
  return [
    channelEntry(c, subjects.channel(c.channelId), {
      event: EventName.UserRemoved,
      data: { remover_id: removerId, user_id: userId },
      broadcast: { channelId: c.channelId },
      membership: m,
    }),
    channelEntry(c, subjects.user(userId), {
      event: EventName.UserRemoved,
      data: { channel_id: c.channelId, remover_id: removerId },
      broadcast: { userId },
      membership: m,
    }),
  ];
}

/**
 * A channel made public or private (app/channel.go UpdateChannelPrivacy): `channel_updated`
 * with the channel as JSON to its members (UpdateChannel, the change's copy in the channel's
 * sequence), and `channel_converted` naming the channel to its whole team (a team event,
 * outside the sequence: members of the team who are not in the channel learn of it too).
 */
export function channelPrivacyEvents(c: ChannelChange, channelJson: string): OutboxEntry[] {
  return [
    channelEntry(c, subjects.channel(c.channelId), {
      event: EventName.ChannelUpdated,
      data: { channel: channelJson },
      broadcast: { channelId: c.channelId },
    }),
    {
      // Partitioned by the team, as the team's membership changes (added_to_team, leave_team):
      // it reaches exactly who is in the team when it commits, in commit order with them.
      subject: subjects.team(c.teamId),
      partitionKey: c.teamId,
      event: newEvent({
        event: EventName.ChannelConverted,
        data: { channel_id: c.channelId },
        broadcast: { teamId: c.teamId },
        changeId: c.changeId,
        originTimeMs: c.now,
      }),
    },
  ];
}

/** `channel_created` (app/channel.go CreateChannelWithUser): to the creator, who is its first member. */
export function channelCreatedEvents(c: ChannelChange, creatorId: string): OutboxEntry[] {
  return [
    channelEntry(c, subjects.user(creatorId), {
      event: EventName.ChannelCreated,
      data: { channel_id: c.channelId, team_id: c.teamId },
      broadcast: { userId: creatorId },
      membership: membership(MembershipChange_Kind.CHANNEL_ADDED, creatorId, c.channelId, c.teamId),
    }),
  ];
}

/**
 * `direct_added` (app/channel.go handleCreationEvent): Mattermost broadcasts it to the
 * channel, but no edge routes a channel that did not exist a moment ago, so each member gets
 * a copy on their own subject carrying the membership. Its broadcast keeps Mattermost's
 * channel_id (the webapp reads it) and adds user_id so each copy reaches one member once.
 */
export function directAddedEvents(c: ChannelChange, creatorId: string, teammateId: string): OutboxEntry[] {
  return [...new Set([creatorId, teammateId])].map((member) =>
    channelEntry(c, subjects.user(member), {
      event: EventName.DirectAdded,
      data: { creator_id: creatorId, teammate_id: teammateId },
      broadcast: { userId: member, channelId: c.channelId },
      membership: membership(MembershipChange_Kind.CHANNEL_ADDED, member, c.channelId, ""),
    }),
  );
}

/** `group_added` (app/channel.go CreateGroupChannel): one per member, to that member. */
export function groupAddedEvents(c: ChannelChange, memberIds: readonly string[]): OutboxEntry[] {
  const teammateIds = JSON.stringify(memberIds);
  return memberIds.map((member) =>
    channelEntry(c, subjects.user(member), {
      event: EventName.GroupAdded,
      data: { teammate_ids: teammateIds },
      broadcast: { userId: member, channelId: c.channelId },
      membership: membership(MembershipChange_Kind.CHANNEL_ADDED, member, c.channelId, ""),
    }),
  );
}

/** One change to a team's membership. */
export interface TeamChange {
  readonly teamId: string;
  readonly userId: string;
  readonly changeId: string;
  readonly now: number;
}

/** `added_to_team` (app/team.go JoinUserToTeam): to the added user. */
export function addedToTeamEvents(t: TeamChange): OutboxEntry[] {
  return [
    {
      subject: subjects.user(t.userId),
      partitionKey: t.teamId,
      event: newEvent({
        event: EventName.AddedToTeam,
        data: { team_id: t.teamId, user_id: t.userId },
        broadcast: { userId: t.userId },
        membership: membership(MembershipChange_Kind.TEAM_ADDED, t.userId, "", t.teamId),
        changeId: t.changeId,
        originTimeMs: t.now,
      }),
    },
  ];
}

/** `leave_team` (app/teams RemoveTeamMember): to the rest of the team and to the user. */
export function leaveTeamEvents(t: TeamChange): OutboxEntry[] {
  const m = membership(MembershipChange_Kind.TEAM_REMOVED, t.userId, "", t.teamId);
  const data = { team_id: t.teamId, user_id: t.userId };
  const common = { event: EventName.LeaveTeam, data, membership: m, changeId: t.changeId, originTimeMs: t.now };
  return [
    { subject: subjects.team(t.teamId), partitionKey: t.teamId, event: newEvent({ ...common, broadcast: { teamId: t.teamId, omitUsers: [t.userId] } }) },
    { subject: subjects.user(t.userId), partitionKey: t.teamId, event: newEvent({ ...common, broadcast: { userId: t.userId } }) },
  ];
}

/** `multiple_channels_viewed` (app/channel.go MarkChannelsAsViewed): to the viewer. */
export function channelsViewedEvents(userId: string, times: Readonly<Record<string, number>>, now: number): OutboxEntry[] {
  return [
    {
      subject: subjects.user(userId),
      partitionKey: userId,
      event: newEvent({ event: EventName.MultipleChannelsViewed, data: { channel_times: times }, broadcast: { userId }, originTimeMs: now }),
    },
  ];
}

/** Mattermost's api.post.disabled_here / _channel / _all (the Mattermost server's English translations): they differ only in the word. */
const channelMentionDisabled = (word: string, limit: number): string =>
  `@${word} notifications are disabled in channels with more than ${String(limit)} users. Contact your system administrator for more information.`;

/**
 * `ephemeral_message` (app/notification.go SendNotifications, app/post.go SendEphemeralPost):
 * tells the poster that @here, @channel or @all notified nobody in a channel this large, one
 * system_ephemeral post per word used, to the poster only. Ephemeral posts are never stored.
 */
export function channelMentionsDisabledEvents(
  c: ChannelChange,
  post: Pick<PostRow, "user_id" | "channel_id" | "create_at">,
  words: readonly ("here" | "channel" | "all")[],
  limit: number,
): OutboxEntry[] {
  return words.map((w) => {
    const notice = newPostRow({
      id: newId(),
      create_at: post.create_at + 1,
      channel_id: post.channel_id,
      message: channelMentionDisabled(w, limit),
      type: "system_ephemeral",
    });
    return channelEntry(c, subjects.user(post.user_id), {
      event: EventName.EphemeralMessage,
      data: { post: postJson(notice) },
      broadcast: { userId: post.user_id, channelId: post.channel_id },
    });
  });
}

/** Mattermost's ChannelUnreadAt (model/channel_member.go): what set_unread answers and post_unread carries. */
export interface ChannelUnreadAt {
  readonly team_id: string;
  readonly user_id: string;
  readonly channel_id: string;
  readonly msg_count: number;
  readonly mention_count: number;
  readonly mention_count_root: number;
  readonly urgent_mention_count: number;
  readonly msg_count_root: number;
  readonly last_viewed_at: number;
}

/**
 * `post_unread` (app/channel.go sendWebSocketPostUnreadEvent): to the user, with Mattermost's
 * broadcast (team, channel, user) and the member's new counters.
 */
export function postUnreadEvents(u: ChannelUnreadAt, postId: string, now: number): OutboxEntry[] {
  return [
    {
      subject: subjects.user(u.user_id),
      partitionKey: u.user_id,
      event: newEvent({
        event: EventName.PostUnread,
        data: {
          msg_count: u.msg_count,
          msg_count_root: u.msg_count_root,
          mention_count: u.mention_count,
          mention_count_root: u.mention_count_root,
          urgent_mention_count: u.urgent_mention_count,
          last_viewed_at: u.last_viewed_at,
          post_id: postId,
        },
        broadcast: { userId: u.user_id, channelId: u.channel_id, teamId: u.team_id },
        originTimeMs: now,
      }),
    },
  ];
}

/**
 * `sidebar_category_created` / `_updated` / `_deleted` / `_order_updated`
 * (app/channel_category.go): to the user, with the team in the broadcast.
 */
export function sidebarEvents(
  kind:
    | typeof EventName.SidebarCategoryCreated
    | typeof EventName.SidebarCategoryUpdated
    | typeof EventName.SidebarCategoryDeleted
    | typeof EventName.SidebarCategoryOrderUpdated,
  userId: string,
  teamId: string,
  data: Record<string, unknown>,
  now: number,
): OutboxEntry[] {
  return [
    {
      subject: subjects.user(userId),
      partitionKey: userId,
      event: newEvent({ event: kind, data, broadcast: { userId, teamId }, originTimeMs: now }),
    },
  ];
}
