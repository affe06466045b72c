/**
 * Counts about channels (api4/channel.go getChannelStats, getChannelsMemberCount): members,
 * guests (Switchboard has none), pinned posts and the files of live posts.
 */
import type { Actor } from "@switchboard/tokens";
import { AppError } from "@switchboard/model";
import type { Call, Deps } from "../deps.js";
import { denied } from "../errors.js";
import { requireId } from "../validation.js";
import { canReadContent, loadChannelAccess } from "./channel-access.js";
import { requireChannelReader } from "./read-state.js";

export interface ChannelStats {
  readonly channelId: string;
  readonly memberCount: number;
  readonly guestCount: number;
  readonly pinnedPostCount: number;
  /** -1 when not counted (exclude_files_count). */
  readonly filesCount: number;
}

/** Channel ids one member-count call may name (Mattermost's maxListSize). */
const MAX_IDS = 1000;

export function createChannelStats(d: Deps) {
  const { db } = d;

  async function getChannelStats(call: Call, channelId: string, excludeFilesCount: boolean): Promise<ChannelStats> {
    requireId(channelId, "channel_id");
    await requireChannelReader(db, call.actor, channelId);
    const { rows } = await db.query<{ members: string; pinned: string; files: string }>(
      `SELECT (SELECT count(*) FROM channel_members WHERE channel_id = $1) AS members,
              (SELECT count(*) FROM posts WHERE channel_id = $1 AND is_pinned AND delete_at = 0) AS pinned,
              (SELECT coalesce(sum(cardinality(file_ids)), 0) FROM posts WHERE channel_id = $1 AND delete_at = 0) AS files`,
      [channelId],
    );
    const r = rows[0]!;
    return {
      channelId,
      memberCount: Number(r.members),
      guestCount: 0,
      pinnedPostCount: Number(r.pinned),
      filesCount: excludeFilesCount ? -1 : Number(r.files),
    };
  }

  /** Member counts of channels the caller may see; one it may not see refuses the whole call. */
  async function getChannelsMemberCount(call: Call, channelIds: readonly string[]): Promise<Record<string, number>> {
    if (channelIds.length > MAX_IDS)
      throw new AppError("invalid_argument", "Invalid or missing channel_ids in request body.", "api.context.invalid_body_param.app_error");
    const ids = [...new Set(channelIds)];
    for (const id of ids) requireId(id, "channel_ids");
    for (const id of ids) {
      const a = await loadChannelAccess(db, id, call.actor.userId);
      if (a && !canSeeCount(a, call.actor)) throw denied();
    }
    const { rows } = await db.query<{ id: string; n: string }>(
      `SELECT c.id, (SELECT count(*) FROM channel_members m WHERE m.channel_id = c.id) AS n FROM channels c WHERE c.id = ANY($1::text[])`,
      [ids],
    );
    const out: Record<string, number> = {};
    for (const r of rows) out[r.id] = Number(r.n);
    return out;
  }

  return { getChannelStats, getChannelsMemberCount };
}

/** Mattermost's HasPermissionToChannelMemberCount: whoever may read the channel. */
function canSeeCount(a: Parameters<typeof canReadContent>[0], actor: Actor): boolean {
  return canReadContent(a, actor);
}

export type ChannelStatsService = ReturnType<typeof createChannelStats>;
