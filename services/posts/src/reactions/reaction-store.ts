import { create } from "@bufbuild/protobuf";
import type { Queryable } from "@switchboard/db";
import { ReactionSchema, type Reaction } from "@switchboard/proto/posts";

export interface ReactionRow {
  user_id: string;
  post_id: string;
  emoji_name: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  channel_id: string;
}

const COLUMNS = "user_id, post_id, emoji_name, create_at, update_at, delete_at, channel_id";

export function reactionToProto(r: ReactionRow): Reaction {
  return create(ReactionSchema, {
    userId: r.user_id,
    postId: r.post_id,
    emojiName: r.emoji_name,
    createAt: BigInt(r.create_at),
    updateAt: BigInt(r.update_at),
    deleteAt: BigInt(r.delete_at),
    channelId: r.channel_id,
  });
}

/**
 * Adds a reaction, or revives one removed earlier (Mattermost keeps removed reactions with
 * delete_at set). Returns undefined when the reaction is already there: nothing changed.
 */
export async function upsertReaction(q: Queryable, r: ReactionRow): Promise<ReactionRow | undefined> {
  const { rows } = await q.query<ReactionRow>(
    `INSERT INTO reactions (${COLUMNS}) VALUES ($1,$2,$3,$4,$4,0,$5)
     ON CONFLICT (post_id, user_id, emoji_name) DO UPDATE SET update_at = EXCLUDED.update_at, delete_at = 0, channel_id = EXCLUDED.channel_id
     WHERE reactions.delete_at <> 0
     RETURNING ${COLUMNS}`,
    [r.user_id, r.post_id, r.emoji_name, r.create_at, r.channel_id],
  );
  return rows[0];
}

/** Marks a reaction removed; returns it, or undefined when there was no live reaction. */
export async function removeReaction(q: Queryable, postId: string, userId: string, emojiName: string, now: number): Promise<ReactionRow | undefined> {
  const { rows } = await q.query<ReactionRow>(
    `UPDATE reactions SET delete_at = $4, update_at = $4 WHERE post_id = $1 AND user_id = $2 AND emoji_name = $3 AND delete_at = 0 RETURNING ${COLUMNS}`,
    [postId, userId, emojiName, now],
  );
  return rows[0];
}

export async function reactionsForPost(q: Queryable, postId: string): Promise<ReactionRow[]> {
  return (await q.query<ReactionRow>(`SELECT ${COLUMNS} FROM reactions WHERE post_id = $1 AND delete_at = 0 ORDER BY create_at, user_id, emoji_name`, [postId]))
    .rows;
}

/** Keeps posts.has_reactions (and update_at, as Mattermost does) in step with the reactions. */
export async function refreshHasReactions(q: Queryable, postId: string, now: number): Promise<void> {
  await q.query(`UPDATE posts SET has_reactions = EXISTS (SELECT 1 FROM reactions WHERE post_id = $1 AND delete_at = 0), update_at = $2 WHERE id = $1`, [
    postId,
    now,
  ]);
}
