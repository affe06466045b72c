/**
 * Read state: each member's last_viewed_at, msg_count(_root) and mention_count(_root), as
 * Mattermost keeps them on ChannelMembers (the post write counts new posts and mentions into
 * them, post-write.ts), and the calls that read and move them:
 * - the member row and a user's rows of one team (api4/channel.go getChannelMember,
 *   getChannelMembersForTeamForUser);
 * - marking channels read (app/channel.go MarkChannelsAsViewed): every member channel asked
 *   for is answered with its last_post_at, only those with something unread are written, and
 *   `multiple_channels_viewed` goes to the user only if one was;
 * - marking a post unread (app/channel.go MarkChannelAsUnreadFromPost, the collapsed-threads
 *   path the webapp takes): last_viewed_at just before the post, the posts from it on counted
 *   unread, their mentions counted again (unread-mentions.ts), `post_unread` to the user.
 * Refusals follow Mattermost: a channel or team the caller may not read is 403, whether or
 * not it exists (SessionHasPermissionToChannel/Team answer false for both).
 */
import type { Queryable } from "@switchboard/db";
import { AppError } from "@switchboard/model";
import type { Actor } from "@switchboard/tokens";
import type { Call, Deps } from "../deps.js";
import { denied, memberNotFound, userNotFound } from "../errors.js";
import { channelsViewedEvents, postUnreadEvents, type ChannelUnreadAt } from "../events/event-builders.js";
import { emit } from "../events/emit.js";
import { callTx, Rollback } from "../tx.js";
import { requireId, selfOrAdmin } from "../validation.js";
import { channelMember, channelMembersForUser, type ChannelMemberRow } from "./channel-store.js";
import { countUnreadMentions, type UnreadPost } from "./unread-mentions.js";

/** Channel ids one call may mark read (Mattermost's maxListSize). */
const MAX_MARK_READ = 1000;

async function isChannelMember(q: Queryable, channelId: string, userId: string): Promise<boolean> {
  return (await q.query("SELECT 1 FROM channel_members WHERE channel_id = $1 AND user_id = $2", [channelId, userId], { prepare: true })).rows.length > 0;
}

async function isTeamMember(q: Queryable, teamId: string, userId: string): Promise<boolean> {
  return (
    (await q.query("SELECT 1 FROM team_members WHERE team_id = $1 AND user_id = $2 AND delete_at = 0", [teamId, userId], { prepare: true })).rows.length > 0
  );
}

/** Mattermost's read_channel on a channel: its members (and system admins). */
export async function requireChannelReader(q: Queryable, actor: Actor, channelId: string): Promise<void> {
  if (actor.isSystemAdmin) return;
  if (!(await isChannelMember(q, channelId, actor.userId))) throw denied();
}

/** Mattermost's view_team on a team: its members (and system admins). */
export async function requireTeamViewer(q: Queryable, actor: Actor, teamId: string): Promise<void> {
  if (actor.isSystemAdmin) return;
  if (!(await isTeamMember(q, teamId, actor.userId))) throw denied();
}

/**
 * A user's own per-team state (sidebar categories, threads): the user themselves or a system
 * admin, who must be able to view the team. Returns the user id.
 */
export async function requireOwnTeamState(q: Queryable, call: { readonly actor: Actor }, userId: string, teamId: string): Promise<string> {
  requireId(teamId, "team_id");
  const uid = selfOrAdmin(userId, call.actor);
  await requireTeamViewer(q, call.actor, teamId);
  return uid;
}

/**
 * Marks the user's channels among `channelIds` read (MarkChannelsAsViewed). Returns each such
 * channel's last_post_at; writes and tells the user's sessions only if one had unread posts.
 */
export async function markChannelsViewed(d: Deps, call: Call, userId: string, channelIds: readonly string[]): Promise<Record<string, number>> {
  const ids = [...new Set(channelIds)];
  const now = Date.now();
  try {
    const times = await callTx(d.db, call.signal, async (q) => {
      const { rows } = await q.query<{ channel_id: string; last_post_at: number; unread: boolean }>(
        `SELECT cm.channel_id, c.last_post_at,
           (c.total_msg_count > cm.msg_count OR c.total_msg_count_root > cm.msg_count_root OR cm.mention_count > 0
            OR cm.mention_count_root > 0 OR cm.urgent_mention_count > 0 OR cm.last_viewed_at < c.last_post_at) AS unread
         FROM channel_members cm JOIN channels c ON c.id = cm.channel_id
         WHERE cm.user_id = $1 AND cm.channel_id = ANY($2::text[]) ORDER BY cm.channel_id FOR UPDATE OF cm`,
        [userId, ids],
      );
      const out: Record<string, number> = {};
      for (const r of rows) out[r.channel_id] = Number(r.last_post_at);
      const toView = rows.filter((r) => r.unread).map((r) => r.channel_id);
      if (toView.length === 0) throw new Rollback(out);
      await q.query(
        `UPDATE channel_members cm SET mention_count = 0, mention_count_root = 0, urgent_mention_count = 0,
           msg_count = c.total_msg_count, msg_count_root = c.total_msg_count_root,
           last_viewed_at = GREATEST(cm.last_viewed_at, c.last_post_at), last_update_at = $3
         FROM channels c WHERE c.id = cm.channel_id AND cm.user_id = $1 AND cm.channel_id = ANY($2::text[])`,
        [userId, toView, now],
      );
      await emit(q, channelsViewedEvents(userId, out, now));
      return out;
    });
    d.onCommit();
    return times;
  } catch (e: unknown) {
    if (e instanceof Rollback) return e.value as Record<string, number>;
    throw e;
  }
}

export function createReadStateService(d: Deps) {
  const { db } = d;

  /** GET /channels/{channel_id}/members/{user_id}: for readers of the channel. */
  async function getChannelMember(call: Call, channelId: string, userId: string): Promise<ChannelMemberRow> {
    requireId(channelId, "channel_id");
    requireId(userId, "user_id");
    await requireChannelReader(db, call.actor, channelId);
    const m = await channelMember(db, channelId, userId);
    if (!m) throw memberNotFound();
    return m;
  }

  /** GET /users/{user_id}/teams/{team_id}/channels/members: the team's channels plus direct and group ones. */
  async function membersForTeam(call: Call, userId: string, teamId: string): Promise<ChannelMemberRow[]> {
    requireId(teamId, "team_id");
    const uid = requireId(userId === "" ? call.actor.userId : userId, "user_id");
    await requireTeamViewer(db, call.actor, teamId);
    if (uid !== call.actor.userId && !call.actor.isSystemAdmin) throw denied();
    return channelMembersForUser(db, uid, teamId);
  }

  /** POST /channels/members/{user_id}/mark_read. */
  async function markRead(call: Call, userId: string, channelIds: readonly string[]): Promise<Record<string, number>> {
    const uid = selfOrAdmin(userId, call.actor);
    if (channelIds.length === 0 || channelIds.length > MAX_MARK_READ) {
      throw new AppError("invalid_argument", "Invalid or missing channel_ids in request body.", "api.context.invalid_body_param.app_error");
    }
    return markChannelsViewed(d, call, uid, channelIds);
  }

  /** POST /users/{user_id}/posts/{post_id}/set_unread. */
  async function setPostUnread(call: Call, userId: string, postId: string): Promise<ChannelUnreadAt> {
    requireId(postId, "post_id");
    const uid = selfOrAdmin(userId, call.actor);
    const post = (
      await db.query<{ channel_id: string; create_at: number; delete_at: number }>("SELECT channel_id, create_at, delete_at FROM posts WHERE id = $1", [postId])
    ).rows[0];
    // Mattermost's SessionHasPermissionToReadPost: an unknown post is refused like a hidden one.
    if (!post || Number(post.delete_at) !== 0) throw denied();
    await requireChannelReader(db, call.actor, post.channel_id);
    const user = (await d.users.byIds([uid], call.token)).get(uid);
    if (!user) throw userNotFound();
    const now = Date.now();
    const unread = await callTx(db, call.signal, async (q) => {
      // Shares the channel row with readers and excludes the post write: the counts below
      // and the member row agree on one moment of the channel.
      const ch = (
        await q.query<{ team_id: string; type: string; total_msg_count: number; total_msg_count_root: number }>(
          "SELECT team_id, type, total_msg_count, total_msg_count_root FROM channels WHERE id = $1 FOR SHARE",
          [post.channel_id],
        )
      ).rows[0];
      const member = ch ? await channelMember(q, post.channel_id, uid) : undefined;
      if (!ch || !member) throw memberNotFound();
      const posts = (
        await q.query<UnreadPost>(
          "SELECT user_id, root_id, message FROM posts WHERE channel_id = $1 AND create_at >= $2 AND delete_at = 0 ORDER BY create_at",
          [post.channel_id, post.create_at],
        )
      ).rows;
      const counts = countUnreadMentions(posts, user, {
        channelType: ch.type,
        ignoreChannelMentions: member.notify_props.ignore_channel_mentions === "on",
      });
      const unreadRoot = posts.filter((p) => p.root_id === "").length;
      const row: ChannelUnreadAt = {
        team_id: ch.team_id,
        user_id: uid,
        channel_id: post.channel_id,
        msg_count: Math.max(0, Number(ch.total_msg_count) - posts.length),
        mention_count: counts.mentions,
        mention_count_root: counts.mentionsRoot,
        urgent_mention_count: 0,
        msg_count_root: Math.max(0, Number(ch.total_msg_count_root) - unreadRoot),
        last_viewed_at: Number(post.create_at) - 1,
      };
      await q.query(
        `UPDATE channel_members SET msg_count = $3, msg_count_root = $4, mention_count = $5, mention_count_root = $6,
           urgent_mention_count = 0, last_viewed_at = $7, last_update_at = $8
         WHERE channel_id = $1 AND user_id = $2`,
        [post.channel_id, uid, row.msg_count, row.msg_count_root, row.mention_count, row.mention_count_root, row.last_viewed_at, now],
      );
      await emit(q, postUnreadEvents(row, postId, now));
      return row;
    });
    d.onCommit();
    return unread;
  }

  return { getChannelMember, membersForTeam, markRead, setPostUnread };
}

export type ReadStateService = ReturnType<typeof createReadStateService>;
