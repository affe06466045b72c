/** Who may call posts (sb.posts.v1.PostsService), method by method. */
import type { PostsService } from "@switchboard/proto/posts";
import type { Allowlist } from "./allowlist.js";

const EDGE = ["gateway"] as const;

export const postsAllowlist: Allowlist<(typeof PostsService)["method"]> = {
  // Everything a user does through the REST and WebSocket edge, on the user's own token.
  createTeam: EDGE,
  getTeam: EDGE,
  getTeamByName: EDGE,
  addTeamMember: EDGE,
  removeTeamMember: EDGE,
  listTeamsForUser: EDGE,
  listTeamMembersForUser: EDGE,
  createChannel: EDGE,
  createDirectChannel: EDGE,
  createGroupChannel: EDGE,
  getChannel: EDGE,
  getChannelByName: EDGE,
  listChannelsForUser: EDGE,
  listChannelMembersForUser: EDGE,
  addChannelMember: EDGE,
  removeChannelMember: EDGE,
  listChannelMembers: EDGE,
  getChannelMember: EDGE,
  viewChannel: EDGE,
  createPost: EDGE,
  patchPost: EDGE,
  updatePost: EDGE,
  deletePost: EDGE,
  getPost: EDGE,
  getPosts: EDGE,
  getPostThread: EDGE,
  addReaction: EDGE,
  removeReaction: EDGE,
  listReactions: EDGE,
  // Member ids of a team or channel the caller may see (the webapp's user lists).
  listMemberIds: EDGE,
  // The webapp's read state, channel and team figures, pins and sidebar (REST).
  markChannelsViewed: EDGE,
  setPostUnread: EDGE,
  getTeamsUnread: EDGE,
  getTeamUnread: EDGE,
  getChannelStats: EDGE,
  getChannelsMemberCount: EDGE,
  getTeamMembersByIds: EDGE,
  getTeamStats: EDGE,
  setPostPinned: EDGE,
  getPinnedPosts: EDGE,
  getPostsByIds: EDGE,
  getSidebarCategories: EDGE,
  updateSidebarCategoryOrder: EDGE,
  createSidebarCategory: EDGE,
  updateSidebarCategories: EDGE,
  deleteSidebarCategory: EDGE,
  getFlaggedPosts: EDGE,
  getUserThreads: EDGE,
  getUserThread: EDGE,
  setThreadFollowing: EDGE,
  updateThreadRead: EDGE,
  markAllThreadsRead: EDGE,
  // The gateway's routing and resume (channels of a connection, missed events, heads).
  getUserRouting: EDGE,
  getChannelEvents: EDGE,
  getChannelHeads: EDGE,
  // Any user's direct and group partners: presence alone (status_change to partners).
  listDirectPartners: ["presence"],
};
