/**
 * The posts service's own statements for creating a root post and reading a channel's first
 * page of posts, run straight from `pg`: the baseline beside the same writes and reads made
 * over REST through the gateway (rest-posts). The texts follow services/posts (post-write.ts's
 * one-statement plan, read-posts.ts's getPosts with channel-access.ts and post-list-store.ts);
 * the bench does not import a deployable's code, so they are written out here. The write's
 * event goes to `bench_outbox`, a copy of the outbox table that the service's relay leaves alone.
 */
import { create } from "@bufbuild/protobuf";
import type pg from "pg";
import { encodeEvent, EventName, subjects } from "@switchboard/bus";
import { newEvent, newId } from "@switchboard/model";
import { PostedHintsSchema } from "@switchboard/proto/events";

const POST_COLUMNS =
  "id, create_at, update_at, edit_at, delete_at, is_pinned, user_id, channel_id, root_id, original_id, message, type, props, hashtags, file_ids, pending_post_id, reply_count, last_reply_at, has_reactions, metadata";
const CHANNEL_COLUMNS =
  "c.id, c.create_at, c.update_at, c.delete_at, c.team_id, c.type, c.display_name, c.name, c.header, c.purpose, c.last_post_at, c.total_msg_count, c.extra_update_at, c.creator_id, c.total_msg_count_root, c.last_root_post_at";

/** A root post that names nobody, in one statement: the channel locked if live and the author a member, the post, the counters, the author's read state, the event. */
const WRITE = `WITH c AS (SELECT id FROM channels
    WHERE id = $1 AND delete_at = 0 AND last_post_at <= $2
      AND EXISTS (SELECT 1 FROM channel_members WHERE channel_id = $1 AND user_id = $3)
    FOR UPDATE
), ins AS (
  INSERT INTO posts (${POST_COLUMNS})
  SELECT $4, $2, $2, 0, 0, false, $3, c.id, '', '', $5, '', '{}'::jsonb, '', '{}'::text[], $6, 0, 0, false, '{}'::jsonb FROM c
  ON CONFLICT (user_id, pending_post_id) WHERE pending_post_id <> '' DO NOTHING
  RETURNING id
), upd AS (
  UPDATE channels SET seq = seq + 1, last_post_at = GREATEST(channels.last_post_at, $2), total_msg_count = channels.total_msg_count + 1,
    total_msg_count_root = channels.total_msg_count_root + 1, last_root_post_at = GREATEST(channels.last_root_post_at, $2)
  FROM ins WHERE channels.id = $1
  RETURNING channels.seq, channels.total_msg_count, channels.total_msg_count_root
), author AS (
  UPDATE channel_members cm SET msg_count = upd.total_msg_count, msg_count_root = upd.total_msg_count_root,
    last_viewed_at = GREATEST(cm.last_viewed_at, $2), last_update_at = $2
  FROM upd WHERE cm.channel_id = $1 AND cm.user_id = $3
)
INSERT INTO bench_outbox (event_id, subject, partition_key, payload, created_at, channel_seq)
SELECT $7, $8, $1, $9, $2, upd.seq FROM upd
RETURNING channel_seq`;

const ACCESS = `SELECT ${CHANNEL_COLUMNS}, cm.user_id AS cm_user, cm.scheme_admin AS cm_admin, tm.user_id AS tm_user, tm.scheme_admin AS tm_admin
  FROM channels c
  LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $2
  LEFT JOIN team_members tm ON tm.team_id = c.team_id AND tm.user_id = $2 AND tm.delete_at = 0
  WHERE c.id = $1`;
const PAGE = `SELECT ${POST_COLUMNS} FROM posts WHERE channel_id = $1 AND delete_at = 0 ORDER BY create_at DESC, id DESC LIMIT $2 OFFSET $3`;
const BEFORE = "SELECT id FROM posts WHERE channel_id = $1 AND delete_at = 0 AND create_at < $2 ORDER BY create_at DESC, id DESC LIMIT 1";
const AFTER = "SELECT id FROM posts WHERE channel_id = $1 AND delete_at = 0 AND create_at > $2 ORDER BY create_at ASC, id ASC LIMIT 1";

/** A `posted` event as the raw writes store it in the outbox copy: rendered once per post, as the service renders its own. */
export function rawPostedEvent(o: { id: string; channelId: string; teamId: string; userId: string; message: string; channelSeq?: bigint }) {
  return newEvent({
    event: EventName.Posted,
    data: {
      channel_display_name: "Bench",
      channel_name: "bench",
      channel_type: "O",
      post: JSON.stringify({ id: o.id, message: o.message }),
      sender_name: "@bench",
      set_online: true,
      team_id: o.teamId,
    },
    broadcast: { channelId: o.channelId },
    posted: create(PostedHintsSchema, { channelType: "O", senderId: o.userId }),
    ...(o.channelSeq === undefined ? {} : { channelSeq: o.channelSeq }),
  });
}

/** Makes the outbox copy the raw writes go to (once per database; the schema must be on the search path). */
export async function createBenchOutbox(pool: pg.Pool): Promise<void> {
  await pool.query("CREATE TABLE IF NOT EXISTS bench_outbox (LIKE outbox INCLUDING ALL)");
}

/** One root post by `userId` into `channelId`, as the service writes it; throws when nothing was written. */
export function rawWritePost(pool: pg.Pool, o: { channelId: string; teamId: string; userId: string; message: string }): () => Promise<void> {
  return async () => {
    const now = Date.now();
    const id = newId();
    const ev = rawPostedEvent({ id, channelId: o.channelId, teamId: o.teamId, userId: o.userId, message: o.message });
    const r = await pool.query({
      name: "bench_rest_posts_write",
      text: WRITE,
      values: [o.channelId, now, o.userId, id, o.message, `${o.userId}:${id}`, ev.id, subjects.channel(o.channelId), encodeEvent(ev)],
    });
    if (r.rowCount !== 1) throw new Error(`the raw post write into ${o.channelId} wrote nothing`);
  };
}

/**
 * A channel's first page of `perPage` posts as GET /api/v4/channels/{id}/posts reads it: the
 * reader's access, the page (one more than asked, to know if there is more), and the ids
 * before and after it; throws when the page is empty.
 */
export function rawReadPosts(pool: pg.Pool, o: { channelId: string; userId: string; perPage: number }): () => Promise<void> {
  return async () => {
    const a = await pool.query({ name: "bench_rest_posts_access", text: ACCESS, values: [o.channelId, o.userId] });
    if (a.rows.length !== 1 || (a.rows[0] as { cm_user: string | null }).cm_user === null) throw new Error(`${o.userId} may not read ${o.channelId}`);
    const page = await pool.query<{ create_at: string }>({ name: "bench_rest_posts_page", text: PAGE, values: [o.channelId, o.perPage + 1, 0] });
    const rows = page.rows.slice(0, o.perPage);
    if (rows.length === 0) throw new Error(`no posts in ${o.channelId}`);
    await pool.query({ name: "bench_rest_posts_before", text: BEFORE, values: [o.channelId, rows.at(-1)!.create_at] });
    await pool.query({ name: "bench_rest_posts_after", text: AFTER, values: [o.channelId, rows[0]!.create_at] });
  };
}
