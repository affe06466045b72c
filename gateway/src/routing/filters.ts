/**
 * Mattermost's WebConn.ShouldSendEvent (PROTOCOL.md §7.3), per connection, in its order.
 * Membership comes from this gateway's routing index instead of a database cache.
 */
import type { Event } from "@switchboard/proto/events";
import type { Connection } from "../connections/connection.js";
import type { UserRoutes } from "./user-routes.js";

const SCOPED_EVENTS = new Set(["typing", "reaction_added", "reaction_removed"]);

export function shouldSend(conn: Connection, routes: UserRoutes, ev: Event): boolean {
  const b = ev.broadcast;
  if (!b) return true;
  if (b.containsSanitizedData && conn.actor.isSystemAdmin) return false;
  if (b.containsSensitiveData && !conn.actor.isSystemAdmin) return false;
  if (b.connectionId !== "") return conn.id === b.connectionId;
  if (b.omitConnectionId !== "" && conn.id === b.omitConnectionId) return false;
  if (b.userId !== "") return conn.userId === b.userId;
  if (b.omitUsers.length > 0 && b.omitUsers.includes(conn.userId)) return false;
  if (b.channelId !== "") {
    if (SCOPED_EVENTS.has(ev.event) && notInChannel(conn, b.channelId) && notInThread(conn, b.channelId)) return false;
    return routes.channels.has(b.channelId);
  }
  if (b.teamId !== "") return routes.teams.has(b.teamId);
  return true;
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
