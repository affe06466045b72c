import type { PostsService as PostsServiceDesc } from "@switchboard/proto/posts";
import type { ImplOf } from "@switchboard/rpc";
import type { SessionAuth } from "@switchboard/auth";
import type { ChannelStatsService } from "../channels/channel-stats.js";
import type { ReadStateService } from "../channels/read-state.js";
import type { PostEditor } from "../posts/edit-post.js";
import type { FlaggedPosts } from "../posts/flagged-posts.js";
import { postToProto } from "../posts/post-store.js";
import type { PostReader } from "../posts/read-posts.js";
import type { TeamFacts } from "../teams/team-facts.js";
import { teamMemberToProto } from "../teams/team-store.js";
import { callOf } from "./call-of.js";

type Impl = ImplOf<typeof PostsServiceDesc>;

/** The methods of this file (the other handler files leave them out). */
export type ReadStateMethods =
  | "markChannelsViewed"
  | "setPostUnread"
  | "getTeamsUnread"
  | "getTeamUnread"
  | "getChannelStats"
  | "getChannelsMemberCount"
  | "getTeamMembersByIds"
  | "getTeamStats"
  | "setPostPinned"
  | "getPinnedPosts"
  | "getPostsByIds"
  | "getFlaggedPosts";

export interface ReadStateServices {
  readonly readState: ReadStateService;
  readonly channelStats: ChannelStatsService;
  readonly teamFacts: TeamFacts;
  readonly editor: PostEditor;
  readonly reader: PostReader;
  readonly flagged: FlaggedPosts;
}

const bigints = (m: Readonly<Record<string, number>>): Record<string, bigint> => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, BigInt(v)]));

function teamUnreadToProto(t: Awaited<ReturnType<TeamFacts["getTeamUnread"]>>) {
  return {
    teamId: t.team_id,
    msgCount: BigInt(t.msg_count),
    mentionCount: BigInt(t.mention_count),
    mentionCountRoot: BigInt(t.mention_count_root),
    msgCountRoot: BigInt(t.msg_count_root),
    threadCount: BigInt(t.thread_count),
    threadMentionCount: BigInt(t.thread_mention_count),
    threadUrgentMentionCount: BigInt(t.thread_urgent_mention_count),
  };
}

/** gRPC <-> domain for read state, channel and team counts, pins and post lookups. */
export function readStateHandlers(s: ReadStateServices, auth: SessionAuth): Pick<Impl, ReadStateMethods> {
  return {
    async markChannelsViewed(req, ctx) {
      return { lastViewedAtTimes: bigints(await s.readState.markRead(await callOf(auth, ctx), req.userId, req.channelIds)) };
    },
    async setPostUnread(req, ctx) {
      const u = await s.readState.setPostUnread(await callOf(auth, ctx), req.userId, req.postId);
      return {
        unread: {
          teamId: u.team_id,
          userId: u.user_id,
          channelId: u.channel_id,
          msgCount: BigInt(u.msg_count),
          mentionCount: BigInt(u.mention_count),
          mentionCountRoot: BigInt(u.mention_count_root),
          urgentMentionCount: BigInt(u.urgent_mention_count),
          msgCountRoot: BigInt(u.msg_count_root),
          lastViewedAt: BigInt(u.last_viewed_at),
        },
      };
    },
    async getTeamsUnread(req, ctx) {
      return {
        teams: (await s.teamFacts.getTeamsUnread(await callOf(auth, ctx), req.userId, req.excludeTeamId, req.includeCollapsedThreads)).map(teamUnreadToProto),
      };
    },
    async getTeamUnread(req, ctx) {
      return { unread: teamUnreadToProto(await s.teamFacts.getTeamUnread(await callOf(auth, ctx), req.userId, req.teamId)) };
    },
    async getChannelStats(req, ctx) {
      const st = await s.channelStats.getChannelStats(await callOf(auth, ctx), req.channelId, req.excludeFilesCount);
      return {
        channelId: st.channelId,
        memberCount: BigInt(st.memberCount),
        guestCount: BigInt(st.guestCount),
        pinnedpostCount: BigInt(st.pinnedPostCount),
        filesCount: BigInt(st.filesCount),
      };
    },
    async getChannelsMemberCount(req, ctx) {
      return { memberCounts: bigints(await s.channelStats.getChannelsMemberCount(await callOf(auth, ctx), req.channelIds)) };
    },
    async getTeamMembersByIds(req, ctx) {
      return { members: (await s.teamFacts.getTeamMembersByIds(await callOf(auth, ctx), req.teamId, req.userIds)).map(teamMemberToProto) };
    },
    async getTeamStats(req, ctx) {
      const st = await s.teamFacts.getTeamStats(await callOf(auth, ctx), req.teamId);
      return { teamId: st.teamId, totalMemberCount: BigInt(st.total), activeMemberCount: BigInt(st.active) };
    },
    async setPostPinned(req, ctx) {
      await s.editor.setPinned(await callOf(auth, ctx), req.postId, req.pinned);
      return {};
    },
    async getPinnedPosts(req, ctx) {
      const r = await s.reader.getPinnedPosts(await callOf(auth, ctx), req.channelId);
      return { order: r.order, posts: r.posts.map(postToProto) };
    },
    async getFlaggedPosts(req, ctx) {
      const rows = await s.flagged.getFlaggedPosts(await callOf(auth, ctx), {
        postIds: req.postIds,
        teamId: req.teamId,
        channelId: req.channelId,
        page: Math.max(0, req.page),
        perPage: Math.min(Math.max(1, req.perPage), 200),
      });
      return { order: rows.map((p) => p.id), posts: rows.map(postToProto) };
    },
    async getPostsByIds(req, ctx) {
      return { posts: (await s.reader.getPostsByIds(await callOf(auth, ctx), req.postIds)).map(postToProto) };
    },
  };
}
