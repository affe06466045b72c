/**
 * A user's flagged posts (app/post.go GetFlaggedPosts, GetFlaggedPostsForTeam,
 * GetFlaggedPostsForChannel; api4/post.go getFlaggedPostsForUser): the flags are the user's
 * flagged_post preferences, kept by accounts and handed over by the edge as post ids. Of those,
 * the live posts (of the team's channels and direct/group channels, or of one channel),
 * newest first, one page; then, as Mattermost's handler does after paging, only the posts
 * of channels the caller may read.
 */
import type { Queryable } from "@switchboard/db";
import { canReadContent, loadChannelAccess } from "../channels/channel-access.js";
import type { Call, Deps } from "../deps.js";
import { optionalId, requireId } from "../validation.js";
import { POST_COLUMNS, type PostRow } from "./post-store.js";

export interface FlaggedQuery {
  readonly postIds: readonly string[];
  readonly teamId: string;
  readonly channelId: string;
  readonly page: number;
  readonly perPage: number;
}

async function flaggedPage(q: Queryable, o: FlaggedQuery): Promise<PostRow[]> {
  const params: unknown[] = [o.postIds];
  let where = "p.id = ANY($1::text[]) AND p.delete_at = 0";
  if (o.channelId !== "") {
    params.push(o.channelId);
    where += ` AND p.channel_id = $${String(params.length)}`;
  } else if (o.teamId !== "") {
    params.push(o.teamId);
    where += ` AND p.channel_id IN (SELECT id FROM channels WHERE team_id = $${String(params.length)} OR team_id = '')`;
  }
  params.push(o.perPage, o.page * o.perPage);
  const { rows } = await q.query<PostRow>(
    `SELECT ${POST_COLUMNS} FROM posts p WHERE ${where} ORDER BY p.create_at DESC, p.id DESC LIMIT $${String(params.length - 1)} OFFSET $${String(params.length)}`,
    params,
  );
  return rows;
}

export function createFlaggedPosts(d: Deps) {
  async function getFlaggedPosts(call: Call, o: FlaggedQuery): Promise<PostRow[]> {
    for (const id of o.postIds) requireId(id, "post_ids");
    optionalId(o.teamId, "team_id");
    optionalId(o.channelId, "channel_id");
    if (o.postIds.length === 0) return [];
    const rows = await flaggedPage(d.db, o);
    const readable = new Map<string, boolean>();
    for (const channelId of new Set(rows.map((p) => p.channel_id))) {
      const a = await loadChannelAccess(d.db, channelId, call.actor.userId);
      readable.set(channelId, a !== undefined && canReadContent(a, call.actor));
    }
    return rows.filter((p) => readable.get(p.channel_id) === true);
  }
  return { getFlaggedPosts };
}

export type FlaggedPosts = ReturnType<typeof createFlaggedPosts>;
