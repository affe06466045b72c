/**
 * Event names: the `event` of an envelope, which is also the Mattermost WebSocket event a
 * client receives (all but `sb_session_revoked`, which never leaves the cluster).
 */
import { json, type Payload } from "./payload.js";
import type { EventFamily } from "./subjects.js";

export const EventName = {
  Hello: "hello",
  Posted: "posted",
  PostEdited: "post_edited",
  PostDeleted: "post_deleted",
  EphemeralMessage: "ephemeral_message",
  ReactionAdded: "reaction_added",
  ReactionRemoved: "reaction_removed",
  UserAdded: "user_added",
  UserRemoved: "user_removed",
  ChannelCreated: "channel_created",
  ChannelUpdated: "channel_updated",
  ChannelConverted: "channel_converted",
  DirectAdded: "direct_added",
  GroupAdded: "group_added",
  AddedToTeam: "added_to_team",
  LeaveTeam: "leave_team",
  MultipleChannelsViewed: "multiple_channels_viewed",
  PostUnread: "post_unread",
  SidebarCategoryCreated: "sidebar_category_created",
  SidebarCategoryUpdated: "sidebar_category_updated",
  SidebarCategoryDeleted: "sidebar_category_deleted",
  SidebarCategoryOrderUpdated: "sidebar_category_order_updated",
  ThreadUpdated: "thread_updated",
  ThreadReadChanged: "thread_read_changed",
  ThreadFollowChanged: "thread_follow_changed",
  Typing: "typing",
  StatusChange: "status_change",
  PreferencesChanged: "preferences_changed",
  PreferencesDeleted: "preferences_deleted",
  UserUpdated: "user_updated",
  /** On the control stream: a session was revoked (accounts publishes, every verifier follows). */
  SessionRevoked: "sb_session_revoked",
} as const;

export type EventName = (typeof EventName)[keyof typeof EventName];

/** The data of an `sb_session_revoked` envelope. Unix ms times. */
export interface SessionRevokedData {
  readonly session_id: string;
  readonly user_id: string;
  readonly expires_at: number;
  readonly revoked_at: number;
}

/** What an envelope's `data` carries, for the events whose data is read inside the cluster. */
export const eventData = {
  [EventName.SessionRevoked]: json<SessionRevokedData>("SessionRevokedData"),
} as const satisfies Partial<Record<EventName, Payload<unknown>>>;

/**
 * The event kinds the gateway accepts from each subject family other than `evt` (posts's,
 * which carries every kind): a publisher allowed on a family cannot pass off another kind.
 */
export const familyEvents: Readonly<Record<Exclude<EventFamily, "evt">, ReadonlySet<string>>> = {
  eph: new Set<string>([EventName.Typing]),
  status: new Set<string>([EventName.StatusChange]),
  acct: new Set<string>([EventName.PreferencesChanged, EventName.PreferencesDeleted, EventName.UserUpdated]),
};
