/**
 * What makes one delivered event the same as one event of the truth set. The wire carries no
 * event id (Mattermost's envelope has none), so an event is named by its kind, its channel and
 * the entity it is about: the post (and, for an edit, its edit time, as one post can be edited
 * many times), the reaction, the member. The same function names the events read from the
 * outbox and those a client received, so both sides agree by construction.
 */
import { EventName } from "@switchboard/bus";

/** The event kinds the posts outbox writes: the kinds the ledger checks. */
export const CHECKED_EVENTS: ReadonlySet<string> = new Set([
  EventName.Posted,
  EventName.PostEdited,
  EventName.PostDeleted,
  EventName.EphemeralMessage,
  EventName.ReactionAdded,
  EventName.ReactionRemoved,
  EventName.UserAdded,
  EventName.UserRemoved,
  EventName.ChannelCreated,
  EventName.ChannelUpdated,
  EventName.ChannelConverted,
  EventName.DirectAdded,
  EventName.GroupAdded,
  EventName.AddedToTeam,
  EventName.LeaveTeam,
  EventName.MultipleChannelsViewed,
]);

export interface EventIdentity {
  /** `<event>|<channel>|<entity>`: equal for the truth event and each delivered copy of it. */
  readonly id: string;
  /** "" for events outside any channel (team and read-state events). */
  readonly channelId: string;
  /** The entity alone (post id, reaction key, member id...), for reports. */
  readonly entity: string;
}

const str = (v: unknown): string => (typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v));

function parsed(v: unknown): Record<string, unknown> {
  if (typeof v !== "string") return {};
  try {
    const o: unknown = JSON.parse(v);
    return o !== null && typeof o === "object" ? (o as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * The identity of an event given as the wire shows it: its name, its `data` object and its
 * broadcast's channel_id. Undefined for kinds the ledger does not check.
 */
export function eventIdentity(event: string, data: Readonly<Record<string, unknown>>, broadcastChannelId: string): EventIdentity | undefined {
  if (!CHECKED_EVENTS.has(event)) return undefined;
  let channelId = broadcastChannelId;
  let entity: string;
  switch (event) {
    case EventName.Posted:
    case EventName.PostDeleted:
    case EventName.EphemeralMessage: {
      const p = parsed(data.post);
      entity = str(p.id);
      channelId ||= str(p.channel_id);
      break;
    }
    case EventName.PostEdited: {
      const p = parsed(data.post);
      entity = `${str(p.id)}@${str(p.edit_at)}`;
      channelId ||= str(p.channel_id);
      break;
    }
    case EventName.ReactionAdded:
    case EventName.ReactionRemoved: {
      const r = parsed(data.reaction);
      entity = `${str(r.user_id)}:${str(r.post_id)}:${str(r.emoji_name)}`;
      channelId ||= str(r.channel_id);
      break;
    }
    case EventName.UserAdded:
      entity = str(data.user_id);
      break;
    case EventName.UserRemoved:
      // The channel's copy names the removed user; the removed user's copy names the channel.
      channelId ||= str(data.channel_id);
      entity = str(data.user_id) || "self";
      break;
    case EventName.ChannelCreated:
      channelId ||= str(data.channel_id);
      entity = channelId;
      break;
    case EventName.ChannelUpdated:
      // A conversion's copy to the members: the channel's type after it.
      entity = str(parsed(data.channel).type);
      break;
    case EventName.ChannelConverted:
      // To the team: the broadcast names no channel, the data does.
      channelId = str(data.channel_id);
      entity = channelId;
      break;
    case EventName.AddedToTeam:
    case EventName.LeaveTeam:
      channelId = "";
      entity = `${str(data.team_id)}:${str(data.user_id)}`;
      break;
    case EventName.MultipleChannelsViewed: {
      channelId = "";
      const times = (data.channel_times ?? {}) as Record<string, unknown>;
      entity = Object.keys(times)
        .sort()
        .map((k) => `${k}=${str(times[k])}`)
        .join(",");
      break;
    }
    default:
      // direct_added, group_added: the channel is the entity.
      entity = channelId;
  }
  return { id: `${event}|${channelId}|${entity}`, channelId, entity };
}
