/**
 * CreatePost, the hot path. The post is written by one statement (post-write.ts), in one of
 * two plans: alone (one-statement: a root post that names nobody), or as the last step of a
 * transaction that
 *   1. locks the channel, checking it is live and the author a member; the post's create_at
 *      is then at least the channel's last_post_at, so posts sort in the order their events
 *      were numbered;
 *   2. for a reply, bumps the root's reply_count (checking it is a live root of this channel);
 *   3. finds who is mentioned, then writes the post (post-write.ts).
 * A retry of the same post, on any replica, inserts nothing; the caller gets the original
 * post (created=false), and no event exists.
 */
import type { Queryable } from "@switchboard/db";
import { AppError, newId } from "@switchboard/model";
import { loadChannelAccess, requireMember } from "../channels/channel-access.js";
import { channelMemberIds, channelMembersAmong, type ChannelRow } from "../channels/channel-store.js";
import { directPartner } from "../channels/direct-channels.js";
import type { Call, Deps } from "../deps.js";
import { abortedCall, channelNotFound, userNotFound } from "../errors.js";
import { channelChange, channelMentionsDisabledEvents, postedEvents } from "../events/event-builders.js";
import { callTx, Rollback } from "../tx.js";
import { createChannelFactsCache } from "../channels/channel-facts-cache.js";
import { fillChannelMentions, parseChannelMentions, withoutChannelMentions } from "./channel-mentions.js";
import { parseHashtags } from "./hashtags.js";
import { parseMentions, resolveMentionedUsers, usernameCandidates, type ParsedMentions } from "./mentions.js";
import { newPostRow, postById, postByPendingId, type PostRow } from "./post-store.js";
import type { NewPostInput } from "./post-validation.js";
import { writePost } from "./post-write.js";
import { threadOnReply } from "../threads/reply-thread.js";
import { threadParticipants } from "../threads/thread-store.js";
import { emit } from "../events/emit.js";

/** @mentions looked up per post; later ones in an enormous message are not notified. */
const MAX_MENTION_WORDS = 200;

export interface CreatePostResult {
  readonly post: PostRow;
  readonly created: boolean;
}

/** What CreatePost needs of the channel it locked. */
type LockedChannel = Pick<ChannelRow, "id" | "team_id" | "type" | "display_name" | "name" | "last_post_at">;

/** Step 1: locks the channel, only if it is live and the author a member (the post write numbers and counts the post). */
async function lockChannelForPost(q: Queryable, p: PostRow): Promise<LockedChannel | undefined> {
  const { rows } = await q.query<LockedChannel>(
    `SELECT id, team_id, type, display_name, name, last_post_at FROM channels
     WHERE id = $1 AND delete_at = 0 AND EXISTS (SELECT 1 FROM channel_members WHERE channel_id = $1 AND user_id = $2)
     FOR UPDATE`,
    [p.channel_id, p.user_id],
    { prepare: true },
  );
  return rows[0];
}

/** Why step 1 matched nothing, as the caller should hear it. */
async function lockFailure(q: Queryable, call: Call, channelId: string): Promise<AppError> {
  const a = await loadChannelAccess(q, channelId, call.actor.userId);
  if (!a) return channelNotFound();
  requireMember(a, call.actor);
  return new AppError("failed_precondition", "Can not post to a deleted channel.", "api.post.create_post.can_not_post_to_deleted.error");
}

/** Step 2: the thread's root gets one more reply; returns the thread's participants. */
async function bumpRoot(q: Queryable, p: PostRow): Promise<string[] | undefined> {
  const { rows } = await q.query<{ user_id: string; repliers: string[] }>(
    `UPDATE posts SET reply_count = reply_count + 1, last_reply_at = $2, update_at = $2
     WHERE id = $1 AND channel_id = $3 AND root_id = '' AND delete_at = 0
     RETURNING user_id, (SELECT coalesce(array_agg(DISTINCT user_id), '{}') FROM posts WHERE root_id = $1 AND delete_at = 0) AS repliers`,
    [p.root_id, p.create_at, p.channel_id],
    { prepare: true },
  );
  const r = rows[0];
  return r ? [r.user_id, ...r.repliers] : undefined;
}

async function rootFailure(q: Queryable, p: PostRow): Promise<AppError> {
  const root = await postById(q, p.root_id);
  if (root && root.channel_id !== p.channel_id && Number(root.delete_at) === 0) {
    return new AppError("invalid_argument", "The root post belongs to another channel.", "api.post.create_post.channel_root_id.app_error");
  }
  return new AppError("invalid_argument", "root_id must name a live root post of this channel.", "api.post.create_post.root_id.app_error");
}

/** JSON text with every object's keys sorted: equal for values jsonb stores alike. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

export function createPostCreator(d: Deps) {
  const channelFacts = createChannelFactsCache({ ttlMs: 10_000, maxEntries: 10_000 });

  /**
   * The users the post mentions: explicit @usernames that are members, every member for
   * @channel and @all, the members in `online` for @here, the DM partner, every other member
   * of a group channel. As in Mattermost
   * (allowChannelMentions), a channel of maxNotificationsPerChannel members or more ignores
   * @channel, @all and @here; with more members than that the poster is told (`notice`).
   */
  async function mentionedUsers(
    q: Queryable,
    channel: LockedChannel,
    post: PostRow,
    named: string[],
    mentions: ParsedMentions,
    online: ReadonlySet<string> | undefined,
  ): Promise<{ ids: string[]; notice: boolean }> {
    const out = new Set<string>();
    let notice = false;
    if (mentions.channelWide) {
      const members = await channelMemberIds(q, channel.id);
      const isMember = new Set(members);
      for (const id of named) if (isMember.has(id)) out.add(id);
      const channelWideAllowed = members.length < d.maxNotificationsPerChannel;
      if (channelWideAllowed && mentions.wholeChannel) for (const id of members) out.add(id);
      else if (channelWideAllowed && mentions.here && online) for (const id of members) if (online.has(id)) out.add(id);
      // Mattermost tells the poster only past the limit (>), while it disables from it (>=).
      notice = members.length > d.maxNotificationsPerChannel;
    } else if (named.length > 0) {
      // Only the named users' memberships are needed, not the whole member list.
      const isMember = new Set(await channelMembersAmong(q, channel.id, named));
      for (const id of named) if (isMember.has(id)) out.add(id);
    }
    // Direct and group channels: every post mentions every other member (Mattermost's DMMention, GMMention).
    if (channel.type === "D") out.add(directPartner(channel.name, post.user_id));
    else if (channel.type === "G") for (const id of await channelMemberIds(q, channel.id)) out.add(id);
    out.delete(post.user_id);
    out.delete("");
    return { ids: [...out], notice };
  }

  /** For @here: the channel's online members (nobody is asked about in a channel too large for it). */
  async function onlineMembers(channelId: string, token: string): Promise<ReadonlySet<string>> {
    const members = await channelMemberIds(d.db, channelId);
    return members.length >= d.maxNotificationsPerChannel ? new Set() : d.online.online(members, token);
  }

  /** The users a root post names with @username (not its @channel, @all or @here). */
  async function rootMentionedUsers(rootId: string, token: string): Promise<string[]> {
    const root = await postById(d.db, rootId);
    if (!root) return [];
    const words = parseMentions(root.message).words.slice(0, MAX_MENTION_WORDS);
    const candidates = words.flatMap(usernameCandidates).slice(0, 1000);
    if (candidates.length === 0) return [];
    return resolveMentionedUsers(words, await d.users.byUsernames(candidates, token)).filter((id) => id !== root.user_id);
  }

  async function replay(call: Call, input: NewPostInput): Promise<CreatePostResult> {
    const existing = await postByPendingId(d.db, call.actor.userId, input.pendingPostId);
    if (!existing) throw new AppError("unavailable", "The post with this pending_post_id is being written; retry.", "app.post.save.app_error");
    const differs =
      existing.channel_id !== input.channelId ||
      existing.root_id !== input.rootId ||
      existing.message !== input.message ||
      existing.type !== input.type ||
      existing.file_ids.join(",") !== input.fileIds.join(",") ||
      // Stored props are jsonb (keys reordered) and carry the server's channel_mentions.
      canonicalJson(withoutChannelMentions(existing.props)) !== canonicalJson(withoutChannelMentions(input.props));
    if (differs) {
      d.log.warn({ post_id: existing.id, user_id: call.actor.userId }, "pending_post_id reused with a different payload; returning the original post");
    }
    d.metrics.idempotentReplay(differs);
    return { post: existing, created: false };
  }

  async function createPost(call: Call, input: NewPostInput, setOnline: boolean): Promise<CreatePostResult> {
    const now = Date.now();
    const userId = call.actor.userId;
    const mentions = parseMentions(input.message);
    // Bounded: one lookup of at most MAX_MENTION_WORDS words (accounts takes 1000 names a call).
    const candidates = mentions.words.slice(0, MAX_MENTION_WORDS).flatMap(usernameCandidates).slice(0, 1000);
    const [senders, byName] = await Promise.all([
      d.users.byIds([userId], call.token),
      candidates.length > 0 ? d.users.byUsernames(candidates, call.token) : Promise.resolve(new Map()),
    ]);
    const sender = senders.get(userId);
    if (!sender) throw userNotFound();
    const named = resolveMentionedUsers(mentions.words, byName);
    // The common case in one statement: a root post that names nobody (an @word that is
    // nobody's username names nobody). It and ~channel links need the channel's facts
    // (cached; an unknown channel fails on the transaction path).
    const oneStatement = input.rootId === "" && named.length === 0 && !mentions.channelWide;
    const channelNames = parseChannelMentions(input.message);
    const facts = oneStatement || channelNames.length > 0 ? await channelFacts.get(d.db, input.channelId) : undefined;
    const props = await fillChannelMentions(d.db, input.props, channelNames, facts?.team_id ?? "");
    const row = newPostRow({
      id: newId(),
      create_at: now,
      update_at: now,
      user_id: userId,
      channel_id: input.channelId,
      root_id: input.rootId,
      message: input.message,
      type: input.type,
      props,
      hashtags: parseHashtags(input.message),
      file_ids: input.fileIds,
      pending_post_id: input.pendingPostId,
      metadata: input.metadata,
    });
    // A group channel's post mentions all its members: they are read in the transaction.
    if (oneStatement && facts && facts.type !== "G") {
      if (call.signal.aborted) throw abortedCall(call.signal);
      const partner = facts.type === "D" ? directPartner(facts.name, userId) : "";
      const mentionedUserIds = partner && partner !== userId ? [partner] : [];
      const events = postedEvents(channelChange(facts, undefined, now), {
        post: row,
        channel: facts,
        senderUsername: sender.username,
        setOnline,
        mentionedUserIds,
        followerUserIds: [],
      });
      const fast = await writePost(d.db, "one-statement", { row, channel: facts, mentionedUserIds, events, deadline: call.deadline, now });
      if (fast.kind === "exists") return replay(call, input);
      if (fast.kind === "late") throw abortedCall(call.signal);
      if (fast.kind === "created") return committed(fast.post);
      channelFacts.forget(row.channel_id);
    }
    // @here: which members are online, asked before the transaction (no remote call while
    // the channel row is locked); membership is settled inside it.
    const online = mentions.here && !mentions.wholeChannel ? await onlineMembers(row.channel_id, call.token) : undefined;
    // A reply tells the thread's followers who takes part in it: their profiles are read
    // before the transaction (participants only grow; one who joins meanwhile shows by id).
    const profiles = row.root_id !== "" ? await d.users.profiles([...(await threadParticipants(d.db, row.root_id)), userId], call.token) : new Map();
    // Users the root names (@username) take part in its thread too (Mattermost's rootMentions).
    const rootNamed = row.root_id !== "" ? await rootMentionedUsers(row.root_id, call.token) : [];
    let post: PostRow;
    try {
      post = await callTx(d.db, call.signal, async (q) => {
        const channel = await lockChannelForPost(q, row);
        if (!channel) throw await lockFailure(q, call, row.channel_id);
        // The channel's last_post_at never goes back, so create_at follows the channel's
        // commit order (and channel_seq) even when clocks of two replicas disagree.
        row.create_at = row.update_at = Math.max(row.create_at, Number(channel.last_post_at));
        let participants: string[] = [];
        if (row.root_id !== "") {
          const p = await bumpRoot(q, row);
          if (!p) throw await rootFailure(q, row);
          participants = p;
        }
        const { ids: mentioned, notice } = await mentionedUsers(q, channel, row, named, mentions, online);
        const followers = [...new Set(participants)].filter((id) => id !== userId);
        const change = channelChange(channel, undefined, now);
        const events = postedEvents(change, {
          post: row,
          channel,
          senderUsername: sender.username,
          setOnline,
          mentionedUserIds: mentioned,
          followerUserIds: followers,
        });
        if (notice) {
          const words = (["here", "channel", "all"] as const).filter((w) => mentions[w]);
          events.push(...channelMentionsDisabledEvents(change, row, words, d.maxNotificationsPerChannel));
        }
        const written = await writePost(q, "in-transaction", { row, mentionedUserIds: mentioned, events, deadline: call.deadline, now });
        if (written.kind === "late") throw abortedCall(call.signal);
        if (written.kind !== "created") throw new Rollback(undefined);
        if (row.root_id !== "") {
          const threadEvents = await threadOnReply(q, {
            post: written.post,
            teamId: channel.team_id,
            rootAuthorId: participants[0] ?? "",
            rootMentionedUserIds: channel.type === "D" || rootNamed.length === 0 ? [] : await channelMembersAmong(q, channel.id, rootNamed),
            mentionedUserIds: mentioned,
            profiles,
            now,
          });
          await emit(q, threadEvents);
        }
        return written.post;
      });
    } catch (e: unknown) {
      if (e instanceof Rollback) return replay(call, input);
      throw e;
    }
    return committed(post);
  }

  function committed(post: PostRow): CreatePostResult {
    d.metrics.postCreated();
    // Test-only crash point: committed, but the relay has not seen the row yet.
    d.failpoints.hit("posts.after_commit");
    d.onCommit();
    return { post, created: true };
  }

  return { createPost };
}

export type PostCreator = ReturnType<typeof createPostCreator>;
