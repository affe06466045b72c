/**
 * Direct (2 users, or one user with themselves) and group (3-8 users) channels. Their names
 * derive from their members (Mattermost's GetDMNameFromIds / GetGroupNameFromUserIds), so
 * creating one that exists returns it (created=false) and emits nothing.
 */
import { createHash } from "node:crypto";
import { AppError, invalidArgument, newId } from "@switchboard/model";
import type { Call, Deps } from "../deps.js";
import { denied } from "../errors.js";
import { channelChange, directAddedEvents, groupAddedEvents } from "../events/event-builders.js";
import { emit } from "../events/emit.js";
import { callTx, Rollback } from "../tx.js";
import { requireId } from "../validation.js";
import { CREATION_SEQ } from "./channel-seq.js";
import { channelByName, insertChannel, insertChannelMembers, type ChannelRow } from "./channel-store.js";

const GROUP_MIN_USERS = 3;
const GROUP_MAX_USERS = 8;

function directChannelName(a: string, b: string): string {
  return a < b ? `${a}__${b}` : `${b}__${a}`;
}

function groupChannelName(userIds: readonly string[]): string {
  const h = createHash("sha1");
  for (const id of [...userIds].sort()) h.update(id);
  return h.digest("hex");
}

/** The other member of a direct channel, from its name ("" if the name is not a direct one). */
export function directPartner(channelName: string, userId: string): string {
  const [a, b] = channelName.split("__");
  if (!a || !b) return "";
  return a === userId ? b : a;
}

export function createDirectChannelService(d: Deps) {
  const { db } = d;

  /** Inserts the channel and its members, or returns the existing one; events only when created. */
  async function getOrCreate(call: Call, row: ChannelRow, memberIds: readonly string[], events: (c: ChannelRow) => Parameters<typeof emit>[1]) {
    try {
      const channel = await callTx(db, call.signal, async (q) => {
        const inserted = await insertChannel(q, row);
        if (!inserted) throw new Rollback(undefined);
        await insertChannelMembers(
          q,
          inserted.id,
          memberIds.map((userId) => ({ userId, admin: false })),
          row.create_at,
        );
        await emit(q, events(inserted));
        return inserted;
      });
      d.onCommit();
      return { channel, created: true };
    } catch (e: unknown) {
      if (!(e instanceof Rollback)) throw e;
      const existing = await channelByName(db, "", row.name);
      if (!existing)
        throw new AppError("unavailable", "The channel was created and removed concurrently; retry.", "app.channel.create_direct_channel.internal_error");
      return { channel: existing, created: false };
    }
  }

  const base = (now: number, type: "D" | "G", name: string, displayName: string, creatorId: string): ChannelRow => ({
    id: newId(),
    create_at: now,
    update_at: now,
    delete_at: 0,
    team_id: "",
    type,
    display_name: displayName,
    name,
    header: "",
    purpose: "",
    last_post_at: now,
    total_msg_count: 0,
    extra_update_at: 0,
    creator_id: creatorId,
    total_msg_count_root: 0,
    last_root_post_at: now,
  });

  async function createDirectChannel(call: Call, userId1: string, userId2: string) {
    requireId(userId1, "user_id_1");
    requireId(userId2, "user_id_2");
    const me = call.actor.userId;
    if (me !== userId1 && me !== userId2 && !call.actor.isSystemAdmin) throw denied();
    const users = await d.users.byIds([userId1, userId2], call.token);
    if (!users.has(userId1) || !users.has(userId2)) {
      throw invalidArgument("api.channel.create_direct_channel.invalid_user.app_error", "Both users of a direct channel must exist.");
    }
    const creator = me === userId2 ? userId2 : userId1;
    const teammate = creator === userId1 ? userId2 : userId1;
    const row = base(Date.now(), "D", directChannelName(userId1, userId2), "", creator);
    return getOrCreate(call, row, [...new Set([userId1, userId2])], (c) => directAddedEvents(channelChange(c, CREATION_SEQ, row.create_at), creator, teammate));
  }

  async function createGroupChannel(call: Call, userIds: readonly string[]) {
    userIds.forEach((id) => requireId(id, "user_ids"));
    // Mattermost adds the caller when the list does not name them.
    const ids = [...new Set([...userIds, call.actor.userId])].sort();
    if (ids.length < GROUP_MIN_USERS || ids.length > GROUP_MAX_USERS) {
      throw invalidArgument(
        "api.channel.create_group.bad_size.app_error",
        `Group messages must have ${GROUP_MIN_USERS} to ${GROUP_MAX_USERS} users, the caller included.`,
      );
    }
    const users = await d.users.byIds(ids, call.token);
    if (ids.some((id) => !users.has(id))) throw invalidArgument("api.channel.create_group.bad_user.app_error", "Every user of a group message must exist.");
    let displayName = ids
      .map((id) => users.get(id)!.username)
      .sort()
      .join(", ");
    if (displayName.length > 64) displayName = displayName.slice(0, 64);
    const row = base(Date.now(), "G", groupChannelName(ids), displayName, call.actor.userId);
    return getOrCreate(call, row, ids, (c) => groupAddedEvents(channelChange(c, CREATION_SEQ, row.create_at), ids));
  }

  return { createDirectChannel, createGroupChannel };
}

export type DirectChannelService = ReturnType<typeof createDirectChannelService>;
