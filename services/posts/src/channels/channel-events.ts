/**
 * A channel's committed events by channel_seq, read back from the outbox's event log
 * (@switchboard/outbox event-log.ts): the source of truth an edge repairs a hole in a channel's
 * sequence from when the event stream lost the event (JetStream can lose acknowledged writes).
 *
 * The stored envelopes are returned as published rather than rebuilt from posts, reactions and
 * memberships: a rebuild would need every event kind's renderer to be replayable against
 * today's rows (an edited or deleted post would come back as it is now, not as the event said),
 * and the copy must carry the original event id so edges drop it when the stream's copy
 * arrives too.
 */
import { subjects } from "@switchboard/bus";
import { invalidArgument } from "@switchboard/model";
import { committedChannelEvents, MAX_COMMITTED_EVENTS } from "@switchboard/outbox";
import type { Actor } from "@switchboard/tokens";
import type { Deps } from "../deps.js";
import { denied } from "../errors.js";
import { requireId } from "../validation.js";

const MAX_HEADS = 1_000;

/** A change has at most two copies on its channel's subject (post_deleted): all fit in one read. */
const MAX_CHANGES = BigInt(MAX_COMMITTED_EVENTS / 2);

export function createChannelEvents(d: Pick<Deps, "db">) {
  /**
   * Internal callers (edges, no token) may read any channel; a caller with a token only a
   * channel it belongs to.
   */
  async function getChannelEvents(actor: Actor | undefined, channelId: string, afterSeq: bigint, upToSeq: bigint): Promise<Uint8Array[]> {
    const id = requireId(channelId, "channel_id");
    if (afterSeq < 0n || upToSeq < afterSeq)
      throw invalidArgument("api.context.invalid_body_param.app_error", "Invalid after_seq / up_to_seq: need 0 <= after_seq <= up_to_seq.");
    if (upToSeq - afterSeq > MAX_CHANGES) {
      throw invalidArgument("api.context.invalid_body_param.app_error", `Invalid up_to_seq: at most ${MAX_CHANGES} changes per call.`);
    }
    if (actor && !actor.isSystemAdmin) {
      const { rows } = await d.db.query("SELECT 1 FROM channel_members WHERE channel_id = $1 AND user_id = $2", [id, actor.userId]);
      if (rows.length === 0) throw denied();
    }
    if (upToSeq === afterSeq) return [];
    return committedChannelEvents(d.db, subjects.channel(id), afterSeq, upToSeq);
  }
  /** The channels' current numbers (`channels.seq`, the last committed change). */
  async function getChannelHeads(actor: Actor | undefined, channelIds: readonly string[]): Promise<{ channelId: string; seq: bigint }[]> {
    if (channelIds.length > MAX_HEADS) throw invalidArgument("api.context.invalid_body_param.app_error", `Invalid channel_ids: at most ${MAX_HEADS} per call.`);
    const ids = [...new Set(channelIds.map((c) => requireId(c, "channel_id")))];
    if (ids.length === 0) return [];
    const { rows } =
      actor && !actor.isSystemAdmin
        ? await d.db.query<{ id: string; seq: string }>(
            "SELECT c.id, c.seq FROM channels c JOIN channel_members m ON m.channel_id = c.id AND m.user_id = $2 WHERE c.id = ANY($1::text[])",
            [ids, actor.userId],
          )
        : await d.db.query<{ id: string; seq: string }>("SELECT id, seq FROM channels WHERE id = ANY($1::text[])", [ids]);
    return rows.map((r) => ({ channelId: r.id, seq: BigInt(r.seq) }));
  }

  return { getChannelEvents, getChannelHeads };
}

export type ChannelEvents = ReturnType<typeof createChannelEvents>;
