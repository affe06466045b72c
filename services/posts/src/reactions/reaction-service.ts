/**
 * Reactions (Mattermost's app/reaction.go): members react as themselves; posts.has_reactions
 * follows; reaction_added / reaction_removed go to the post's channel. Adding a reaction that
 * exists, or removing one that does not, changes nothing and emits nothing.
 */
import { EventName } from "@switchboard/bus";
import type { Queryable } from "@switchboard/db";
import { AppError, invalidArgument } from "@switchboard/model";
import { loadChannelAccess, requireMember, requireReader, requireReaderOrDenied } from "../channels/channel-access.js";
import { lockChannel } from "../channels/channel-seq.js";
import type { Call, Deps } from "../deps.js";
import { denied, postNotFound } from "../errors.js";
import { channelChange, reactionEvents } from "../events/event-builders.js";
import { emit } from "../events/emit.js";
import { postById, type PostRow } from "../posts/post-store.js";
import { callTx, Rollback } from "../tx.js";
import { requireId } from "../validation.js";
import { reactionsForPost, refreshHasReactions, removeReaction, upsertReaction, type ReactionRow } from "./reaction-store.js";

/** Mattermost's emoji name rule (model.Reaction.IsValid). */
const EMOJI_NAME_RE = /^[a-zA-Z0-9\-+_]{1,64}$/;

function validEmoji(name: string): string {
  if (!EMOJI_NAME_RE.test(name))
    throw invalidArgument("model.reaction.is_valid.emoji_name.app_error", "emoji_name must be 1-64 letters, digits, '-', '+' or '_'.");
  return name;
}

export function createReactionService(d: Deps) {
  const { db } = d;

  async function livePost(postId: string): Promise<PostRow> {
    const post = await postById(db, requireId(postId, "post_id"));
    if (!post || Number(post.delete_at) !== 0) throw postNotFound();
    return post;
  }

  /** Runs the change under the post's channel lock; a Rollback means "nothing to do". */
  async function change(call: Call, post: PostRow, fn: (seq: bigint, teamId: string, q: Queryable) => Promise<ReactionRow>) {
    try {
      const out = await callTx(db, call.signal, async (q) => {
        const locked = await lockChannel(q, post.channel_id);
        if (!locked) throw postNotFound();
        return fn(locked.seq, locked.channel.team_id, q);
      });
      d.onCommit();
      return out;
    } catch (e: unknown) {
      if (e instanceof Rollback) return e.value as ReactionRow | undefined;
      throw e;
    }
  }

  async function addReaction(call: Call, r: { userId: string; postId: string; emojiName: string }): Promise<ReactionRow> {
    // The id's form first: a malformed one is bad input, not someone else's.
    if (r.userId !== "" && requireId(r.userId, "user_id") !== call.actor.userId) throw denied("Reactions are added as the caller.");
    const emojiName = validEmoji(r.emojiName);
    const post = await livePost(r.postId);
    const access = requireMember(await loadChannelAccess(db, post.channel_id, call.actor.userId), call.actor);
    if (Number(access.channel.delete_at) !== 0) {
      throw new AppError("failed_precondition", "Can not react in a deleted channel.", "api.reaction.save.archived_channel.app_error");
    }
    const now = Date.now();
    const row: ReactionRow = {
      user_id: call.actor.userId,
      post_id: post.id,
      emoji_name: emojiName,
      create_at: now,
      update_at: now,
      delete_at: 0,
      channel_id: post.channel_id,
    };
    const added = await change(call, post, async (seq, teamId, q) => {
      const saved = await upsertReaction(q, row);
      if (!saved) throw new Rollback(undefined);
      await refreshHasReactions(q, post.id, now);
      await emit(q, reactionEvents(channelChange({ id: post.channel_id, team_id: teamId }, seq, now), EventName.ReactionAdded, saved));
      return saved;
    });
    return added ?? (await reactionsForPost(db, post.id)).find((x) => x.user_id === row.user_id && x.emoji_name === emojiName) ?? row;
  }

  async function removeReactionOf(call: Call, r: { userId: string; postId: string; emojiName: string }): Promise<void> {
    const userId = r.userId === "" ? call.actor.userId : requireId(r.userId, "user_id");
    if (userId !== call.actor.userId && !call.actor.isSystemAdmin) throw denied();
    const emojiName = validEmoji(r.emojiName);
    const post = await livePost(r.postId);
    requireReader(await loadChannelAccess(db, post.channel_id, call.actor.userId), call.actor);
    await change(call, post, async (seq, teamId, q) => {
      const now = Date.now();
      const removed = await removeReaction(q, post.id, userId, emojiName, now);
      if (!removed) throw new Rollback(undefined);
      await refreshHasReactions(q, post.id, now);
      await emit(q, reactionEvents(channelChange({ id: post.channel_id, team_id: teamId }, seq, now), EventName.ReactionRemoved, removed));
      return removed;
    });
  }

  /** api4/reaction.go getReactions: an unknown post and one the caller may not read are both 403. */
  async function listReactions(call: Call, postId: string): Promise<ReactionRow[]> {
    requireId(postId, "post_id");
    const post = await postById(db, postId);
    if (!post || Number(post.delete_at) !== 0) throw denied();
    requireReaderOrDenied(await loadChannelAccess(db, post.channel_id, call.actor.userId), call.actor);
    return reactionsForPost(db, post.id);
  }

  return { addReaction, removeReaction: removeReactionOf, listReactions };
}

export type ReactionService = ReturnType<typeof createReactionService>;
