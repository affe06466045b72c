/**
 * Joining and leaving channels inside a caller's transaction, with their events. The
 * channels must already be locked (channel-lock.ts) and `seq` is the change's number in
 * each channel's stream.
 */
import type { Queryable } from "@switchboard/db";
import type { OutboxEntry } from "@switchboard/outbox";
import { channelChange, userAddedEvents, userRemovedEvents } from "../events/event-builders.js";
import { deleteChannelMember, insertChannelMembers, type ChannelMemberRow } from "./channel-store.js";

export interface LockedChannel {
  readonly id: string;
  readonly team_id: string;
  readonly seq: bigint;
}

/** Adds the user to each channel they are not in yet; user_added for each join. */
export async function joinChannels(
  q: Queryable,
  userId: string,
  channels: readonly LockedChannel[],
  o: { admin: boolean; now: number },
): Promise<{ members: ChannelMemberRow[]; events: OutboxEntry[] }> {
  const members: ChannelMemberRow[] = [];
  const events: OutboxEntry[] = [];
  for (const c of channels) {
    const [added] = await insertChannelMembers(q, c.id, [{ userId, admin: o.admin }], o.now);
    if (!added) continue;
    members.push(added);
    events.push(...userAddedEvents(channelChange(c, c.seq, o.now), userId));
  }
  return { members, events };
}

/** Removes the user from each channel they are in; user_removed for each. */
export async function leaveChannels(
  q: Queryable,
  userId: string,
  channels: readonly LockedChannel[],
  o: { removerId: string; now: number },
): Promise<{ removed: string[]; events: OutboxEntry[] }> {
  const removed: string[] = [];
  const events: OutboxEntry[] = [];
  for (const c of channels) {
    if (!(await deleteChannelMember(q, c.id, userId))) continue;
    removed.push(c.id);
    events.push(...userRemovedEvents(channelChange(c, c.seq, o.now), userId, o.removerId));
  }
  return { removed, events };
}
