/**
 * Editing and deleting posts: the author or a system admin. Each change locks the post's
 * channel first (so it is ordered with the channel's other events), re-reads the post under
 * that lock, writes it, and emits post_edited / post_deleted.
 */
import type { Queryable } from "@switchboard/db";
import { AppError } from "@switchboard/model";
import type { Actor } from "@switchboard/tokens";
import { loadChannelAccess, requireReader, requireReaderOrDenied } from "../channels/channel-access.js";
import { lockChannel } from "../channels/channel-seq.js";
import type { Call, Deps } from "../deps.js";
import { denied, postNotFound } from "../errors.js";
import { channelChange, postDeletedEvents, postEditedEvents } from "../events/event-builders.js";
import { emit } from "../events/emit.js";
import { callTx } from "../tx.js";
import { requireId } from "../validation.js";
import { fillChannelMentions, parseChannelMentions } from "./channel-mentions.js";
import { parseHashtags } from "./hashtags.js";
import { postById, softDeletePost, updatePostFields, type PostRow } from "./post-store.js";
import { validateFileIds, validateMessage, validateProps } from "./post-validation.js";

/** The editable fields; undefined leaves a field unchanged. */
export interface PostPatch {
  readonly message?: string;
  readonly isPinned?: boolean;
  readonly propsJson?: Uint8Array;
  readonly fileIds?: readonly string[];
}

function requireAuthor(post: PostRow, actor: Actor): void {
  if (post.user_id !== actor.userId && !actor.isSystemAdmin) throw denied();
}

function requireLiveChannel(deleteAt: number): void {
  if (Number(deleteAt) !== 0) {
    throw new AppError("failed_precondition", "Can not update a post in a deleted channel.", "api.post.update_post.can_not_update_post_in_deleted.error");
  }
}

export function createPostEditor(d: Deps) {
  const { db } = d;

  /**
   * Checks access outside the transaction (cheap refusals), then runs `change` under the
   * channel lock. `who`: "author" (edits, deletes) or "reader" (pins: any reader of the channel,
   * and an unknown post is refused like a hidden one, as Mattermost's saveIsPinnedPost does).
   */
  async function underChannelLock<T>(
    call: Call,
    postId: string,
    change: (q: Queryable, post: PostRow, seq: bigint, teamId: string) => Promise<T>,
    who: "author" | "reader" = "author",
  ): Promise<T> {
    requireId(postId, "post_id");
    const before = await postById(db, postId);
    if (!before || Number(before.delete_at) !== 0) throw who === "reader" ? denied() : postNotFound();
    const access = loadChannelAccess(db, before.channel_id, call.actor.userId);
    const readable = who === "reader" ? requireReaderOrDenied(await access, call.actor) : requireReader(await access, call.actor);
    requireLiveChannel(readable.channel.delete_at);
    if (who === "author") requireAuthor(before, call.actor);
    const out = await callTx(db, call.signal, async (q) => {
      const locked = await lockChannel(q, before.channel_id);
      const post = await postById(q, postId);
      if (!locked || !post || Number(post.delete_at) !== 0) throw postNotFound();
      return change(q, post, locked.seq, locked.channel.team_id);
    });
    d.onCommit();
    return out;
  }

  async function patchPost(call: Call, postId: string, patch: PostPatch): Promise<PostRow> {
    const fileIds = patch.fileIds !== undefined ? validateFileIds(patch.fileIds) : undefined;
    const props = patch.propsJson !== undefined ? validateProps(patch.propsJson) : undefined;
    return underChannelLock(call, postId, async (q, post, seq, teamId) => {
      const now = Date.now();
      const next: PostRow = { ...post, update_at: now };
      if (patch.message !== undefined && patch.message !== post.message) {
        next.message = validateMessage(patch.message, fileIds ?? post.file_ids);
        next.hashtags = parseHashtags(patch.message);
        next.edit_at = now;
      }
      if (patch.isPinned !== undefined) next.is_pinned = patch.isPinned;
      if (fileIds !== undefined) next.file_ids = fileIds;
      // As Mattermost's FillInPostProps on every update: the links follow the message.
      next.props = await fillChannelMentions(q, props ?? post.props, parseChannelMentions(next.message), teamId);
      const updated = await updatePostFields(q, next);
      await emit(q, postEditedEvents(channelChange({ id: post.channel_id, team_id: teamId }, seq, now), updated));
      return updated;
    });
  }

  /** Pin or unpin (api4/post.go saveIsPinnedPost: PatchPost with is_pinned, so post_edited). */
  async function setPinned(call: Call, postId: string, pinned: boolean): Promise<void> {
    await underChannelLock(
      call,
      postId,
      async (q, post, seq, teamId) => {
        const now = Date.now();
        const updated = await updatePostFields(q, { ...post, is_pinned: pinned, update_at: now });
        await emit(q, postEditedEvents(channelChange({ id: post.channel_id, team_id: teamId }, seq, now), updated));
      },
      "reader",
    );
  }

  async function deletePost(call: Call, postId: string): Promise<void> {
    await underChannelLock(call, postId, async (q, post, seq, teamId) => {
      const now = Date.now();
      await softDeletePost(q, post, call.actor.userId, now);
      await emit(q, postDeletedEvents(channelChange({ id: post.channel_id, team_id: teamId }, seq, now), post, call.actor.userId));
    });
  }

  return { patchPost, setPinned, deletePost };
}

export type PostEditor = ReturnType<typeof createPostEditor>;
