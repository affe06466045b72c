/**
 * Mattermost's WebConn.ShouldSendEvent (docs/protocol.md §7.2), compiled once per event into a
 * per-user part and a per-connection part, in Mattermost's order. A channel event with no
 * connection targeting then costs one membership lookup per user and nothing per connection.
 * Membership comes from this gateway's routing index instead of a database cache, as of the
 * event's channel_seq (a late event does not reach a member who joined after it).
 */
import { EventName } from "@switchboard/bus";
import type { Event } from "@switchboard/proto/events";
import type { Connection } from "../connections/connection.js";
import type { UserRoutes } from "./user-routes.js";

const SCOPED_EVENTS = new Set<string>([EventName.Typing, EventName.ReactionAdded, EventName.ReactionRemoved]);

type Check<T> = (x: T) => boolean;

export interface EventFilter {
  /** What a user must pass; undefined: every user passes. */
  readonly user: Check<UserRoutes> | undefined;
  /** What each connection of a passing user must pass; undefined: every one passes. */
  readonly conn: Check<Connection> | undefined;
}

const EVERYONE: EventFilter = { user: undefined, conn: undefined };

/**
 * `candidatesAreMembers`: the users it will be asked about are exactly the local members of
 * the broadcast's channel (or, with no channel, team), taken from the route index, so that
 * membership needs no check per user.
 */
export function eventFilter(ev: Event, candidatesAreMembers = false): EventFilter {
  const b = ev.broadcast;
  if (!b) return EVERYONE;
  const conn: Check<Connection>[] = [];
  const sanitized = b.containsSanitizedData;
  const sensitive = b.containsSensitiveData;
  if (sanitized) conn.push((c) => !c.actor.isSystemAdmin);
  if (sensitive) conn.push((c) => c.actor.isSystemAdmin);
  const connectionId = b.connectionId;
  if (connectionId !== "") {
    // Targets one connection: nothing after this check applies.
    conn.push((c) => c.id === connectionId);
    return { user: undefined, conn: all(conn) };
  }
  const omitConnectionId = b.omitConnectionId;
  if (omitConnectionId !== "") conn.push((c) => c.id !== omitConnectionId);
  const userId = b.userId;
  if (userId !== "") return { user: (r) => r.userId === userId, conn: all(conn) };
  const user: Check<UserRoutes>[] = [];
  if (b.omitUsers.length > 0) {
    const omit = new Set(b.omitUsers);
    user.push((r) => !omit.has(r.userId));
  }
  const channelId = b.channelId;
  const teamId = b.teamId;
  if (channelId !== "") {
    if (SCOPED_EVENTS.has(ev.event)) conn.push((c) => !(notInChannel(c, channelId) && notInThread(c, channelId)));
    // Mattermost checks membership as the change commits; here an event may arrive late (held
    // for a repair), so the check is membership as of the event's number.
    const seq = Number(ev.channelSeq);
    if (seq > 0) user.push((r) => memberAt(r, channelId, seq));
    else if (!candidatesAreMembers) user.push((r) => r.channels.has(channelId));
  } else if (teamId !== "" && !candidatesAreMembers) {
    user.push((r) => r.teams.has(teamId));
  }
  return { user: all(user), conn: all(conn) };
}

function all<T>(checks: readonly Check<T>[]): Check<T> | undefined {
  if (checks.length <= 1) return checks[0];
  return (x) => {
    for (const c of checks) if (!c(x)) return false;
    return true;
  };
}

/** Whether the user was a member of the channel when its change numbered `seq` was made. */
function memberAt(r: UserRoutes, channelId: string, seq: number): boolean {
  const since = r.channels.get(channelId);
  return since !== undefined && since <= seq;
}

function notInChannel(c: Connection, channelId: string): boolean {
  return c.activeChannelId !== null && c.activeChannelId !== channelId;
}

function notInThread(c: Connection, channelId: string): boolean {
  return (
    c.activeRhsThreadChannelId !== null &&
    c.activeRhsThreadChannelId !== channelId &&
    c.activeThreadViewChannelId !== null &&
    c.activeThreadViewChannelId !== channelId
  );
}
