/**
 * Converting a team channel between public ("O") and private ("P"), as api4/channel.go
 * updateChannelPrivacy and app/channel.go UpdateChannelPrivacy: system admins, team admins
 * and the channel's admins may (Mattermost's default roles hold convert_public_channel_to_private
 * and convert_private_channel_to_public there); the team's default channel stays public;
 * direct and group channels have no privacy to change. Membership does not change: the
 * members keep every event, and a private channel's events only ever reach its members.
 */
import { AppError, channelToJson, invalidArgument } from "@switchboard/model";
import type { Call, Deps } from "../deps.js";
import { channelNotFound, denied } from "../errors.js";
import { channelChange, channelPrivacyEvents } from "../events/event-builders.js";
import { emit } from "../events/emit.js";
import { callTx } from "../tx.js";
import { requireId } from "../validation.js";
import { loadChannelAccess, requireVisible } from "./channel-access.js";
import { lockChannel } from "./channel-seq.js";
import { CHANNEL_COLUMNS, channelToProto, type ChannelRow } from "./channel-store.js";

/** The team's default channel (model.DefaultChannelName). */
const DEFAULT_CHANNEL_NAME = "town-square";

export type ChannelPrivacy = ReturnType<typeof createChannelPrivacy>;

export function createChannelPrivacy(d: Deps) {
  async function updateChannelPrivacy(call: Call, channelId: string, privacy: string): Promise<ChannelRow> {
    const id = requireId(channelId, "channel_id");
    if (privacy !== "O" && privacy !== "P") throw invalidArgument("api.context.invalid_body_param.app_error", "Invalid or missing privacy in request body.");
    const a = requireVisible(await loadChannelAccess(d.db, id, call.actor.userId), call.actor);
    if (a.channel.type !== "O" && a.channel.type !== "P") throw denied();
    if (!call.actor.isSystemAdmin && !a.isTeamAdmin && !a.isChannelAdmin) throw denied();
    if (a.channel.name === DEFAULT_CHANNEL_NAME && privacy === "P") {
      throw new AppError("invalid_argument", "The default channel cannot be made private.", "api.channel.update_channel_privacy.default_channel_error");
    }
    const updated = await callTx(d.db, call.signal, async (q) => {
      const locked = await lockChannel(q, id);
      if (!locked || Number(locked.channel.delete_at) !== 0) throw channelNotFound();
      const now = Date.now();
      const { rows } = await q.query<ChannelRow>(`UPDATE channels SET type = $2, update_at = $3 WHERE id = $1 RETURNING ${CHANNEL_COLUMNS}`, [
        id,
        privacy,
        now,
      ]);
      const row = rows[0]!;
      await emit(q, channelPrivacyEvents(channelChange(row, locked.seq, now), JSON.stringify(channelToJson(channelToProto(row)))));
      return row;
    });
    d.onCommit();
    return updated;
  }
  return { updateChannelPrivacy };
}
