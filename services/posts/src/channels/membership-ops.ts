/**
 * Joining and leaving channels inside a caller's transaction, with their events. The
 * channels must already be locked (channel-seq.ts). A channel given with its `seq` has its
 * change numbered already (it was locked with lockChannel, or created by this transaction);
 * the others are numbered here, only if the user's membership of them changed.
 */
import type { Queryable } from "@switchboard/db";
import type { OutboxEntry } from "@switchboard/outbox";
import { channelChange, userAddedEvents, userRemovedEvents } from "../events/event-builders.js";
import { nextChannelSeqs } from "./channel-seq.js";
import { deleteChannelMember, insertChannelMembers, type ChannelMemberRow } from "./channel-store.js";

export interface LockedChannel {
  readonly id: string;
  readonly team_id: string;
  readonly seq?: bigint;
}

/** The numbers of the changed channels: their own seq, or the next one of their sequence. */
async function numbered(q: Queryable, changed: readonly LockedChannel[]): Promise<(c: LockedChannel) => bigint> {
  const taken = await nextChannelSeqs(
    q,
    changed.filter((c) => c.seq === undefined).map((c) => c.id),
  );
  return (c) => c.seq ?? taken.get(c.id)!;
}

/** Adds the user to each channel they are not in yet; user_added for each join. */
export async function joinChannels(
  q: Queryable,
  userId: string,
  channels: readonly LockedChannel[],
  o: { admin: boolean; now: number },
): Promise<{ members: ChannelMemberRow[]; events: OutboxEntry[] }> {
  const members: ChannelMemberRow[] = [];
  const changed: LockedChannel[] = [];
  for (const c of channels) {
    const [added] = await insertChannelMembers(q, c.id, [{ userId, admin: o.admin }], o.now);
    if (!added) continue;
    members.push(added);
    changed.push(c);
  }
  const seq = await numbered(q, changed);
  return { members, events: changed.flatMap((c) => userAddedEvents(channelChange(c, seq(c), o.now), userId)) };
}

/** Removes the user from each channel they are in; user_removed for each. */
export async function leaveChannels(
  q: Queryable,
  userId: string,
  channels: readonly LockedChannel[],
  o: { removerId: string; now: number },
): Promise<{ removed: string[]; events: OutboxEntry[] }> {
  const changed: LockedChannel[] = [];
  for (const c of channels) if (await deleteChannelMember(q, c.id, userId)) changed.push(c);
  const seq = await numbered(q, changed);
  return { removed: changed.map((c) => c.id), events: changed.flatMap((c) => userRemovedEvents(channelChange(c, seq(c), o.now), userId, o.removerId)) };
}
