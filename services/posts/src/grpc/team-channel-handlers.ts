import type { PostsService as PostsServiceDesc } from "@switchboard/proto/posts";
import type { ImplOf } from "@switchboard/rpc";
import type { SessionAuth } from "@switchboard/auth";
import type { ChannelEvents } from "../channels/channel-events.js";
import type { ChannelService } from "../channels/channel-service.js";
import type { ChannelPrivacy } from "../channels/channel-privacy.js";
import { channelMemberToProto, channelToProto } from "../channels/channel-store.js";
import type { DirectChannelService } from "../channels/direct-channels.js";
import type { MembershipService } from "../channels/membership-service.js";
import type { MemberIds } from "../members/member-ids.js";
import type { ReadStateService } from "../channels/read-state.js";
import { callOf } from "./call-of.js";
import type { ReadStateMethods } from "./read-state-handlers.js";
import type { SidebarMethods } from "./sidebar-handlers.js";
import type { ThreadMethods } from "./thread-handlers.js";
import type { TeamService } from "../teams/team-service.js";
import { teamMemberToProto, teamToProto } from "../teams/team-store.js";

type Impl = ImplOf<typeof PostsServiceDesc>;

export interface TeamChannelServices {
  readonly teams: TeamService;
  readonly channels: ChannelService;
  readonly privacy: ChannelPrivacy;
  readonly members: MembershipService;
  readonly direct: DirectChannelService;
  readonly channelEvents: ChannelEvents;
  readonly memberIds: MemberIds;
  readonly readState: ReadStateService;
}

/** gRPC <-> domain for teams and channels. */
export function teamChannelHandlers(
  s: TeamChannelServices,
  auth: SessionAuth,
): Omit<
  Impl,
  | "createPost"
  | "patchPost"
  | "updatePost"
  | "deletePost"
  | "getPost"
  | "getPosts"
  | "getPostThread"
  | "addReaction"
  | "removeReaction"
  | "listReactions"
  | ReadStateMethods
  | SidebarMethods
  | ThreadMethods
> {
  return {
    async createTeam(req, ctx) {
      return { team: teamToProto(await s.teams.createTeam(await callOf(auth, ctx), req)) };
    },
    async getTeam(req, ctx) {
      return { team: teamToProto(await s.teams.getTeam(await callOf(auth, ctx), req.teamId)) };
    },
    async getTeamByName(req, ctx) {
      return { team: teamToProto(await s.teams.getTeamByName(await callOf(auth, ctx), req.name)) };
    },
    async addTeamMember(req, ctx) {
      return { member: teamMemberToProto(await s.teams.addTeamMember(await callOf(auth, ctx), req.teamId, req.userId)) };
    },
    async removeTeamMember(req, ctx) {
      await s.teams.removeTeamMember(await callOf(auth, ctx), req.teamId, req.userId);
      return {};
    },
    async listTeamsForUser(req, ctx) {
      return { teams: (await s.teams.listTeamsForUser(await callOf(auth, ctx), req.userId)).map(teamToProto) };
    },
    async listTeamMembersForUser(req, ctx) {
      return { members: (await s.teams.listTeamMembersForUser(await callOf(auth, ctx), req.userId)).map(teamMemberToProto) };
    },
    async createChannel(req, ctx) {
      return { channel: channelToProto(await s.channels.createChannel(await callOf(auth, ctx), req)) };
    },
    async createDirectChannel(req, ctx) {
      const r = await s.direct.createDirectChannel(await callOf(auth, ctx), req.userId1, req.userId2);
      return { channel: channelToProto(r.channel), created: r.created };
    },
    async createGroupChannel(req, ctx) {
      const r = await s.direct.createGroupChannel(await callOf(auth, ctx), req.userIds);
      return { channel: channelToProto(r.channel), created: r.created };
    },
    async updateChannelPrivacy(req, ctx) {
      return { channel: channelToProto(await s.privacy.updateChannelPrivacy(await callOf(auth, ctx), req.channelId, req.privacy)) };
    },
    async getChannel(req, ctx) {
      return { channel: channelToProto(await s.channels.getChannel(await callOf(auth, ctx), req.channelId)) };
    },
    async getChannelByName(req, ctx) {
      return { channel: channelToProto(await s.channels.getChannelByName(await callOf(auth, ctx), req.teamId, req.name, req.includeDeleted)) };
    },
    async listChannelsForUser(req, ctx) {
      const rows = await s.channels.listChannelsForUser(await callOf(auth, ctx), req.userId, req.teamId, req.includeDeleted);
      return { channels: rows.map(channelToProto) };
    },
    async listChannelMembersForUser(req, ctx) {
      const rows = await s.readState.membersForTeam(await callOf(auth, ctx), req.userId, req.teamId);
      return { members: rows.map(channelMemberToProto) };
    },
    async addChannelMember(req, ctx) {
      return { member: channelMemberToProto(await s.members.addChannelMember(await callOf(auth, ctx), req.channelId, req.userId)) };
    },
    async removeChannelMember(req, ctx) {
      await s.members.removeChannelMember(await callOf(auth, ctx), req.channelId, req.userId);
      return {};
    },
    async listChannelMembers(req, ctx) {
      const rows = await s.channels.listChannelMembers(await callOf(auth, ctx), req.channelId, req.page, req.perPage);
      return { members: rows.map(channelMemberToProto) };
    },
    async listMemberIds(req, ctx) {
      return { userIds: await s.memberIds(await callOf(auth, ctx), req.teamId, req.channelId) };
    },
    async getChannelMember(req, ctx) {
      return { member: channelMemberToProto(await s.readState.getChannelMember(await callOf(auth, ctx), req.channelId, req.userId)) };
    },
    async viewChannel(req, ctx) {
      const times = await s.channels.viewChannel(await callOf(auth, ctx), req.userId, req.channelId, req.prevChannelId);
      return { lastViewedAtTimes: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, BigInt(v)])) };
    },
    async getUserRouting(req, ctx) {
      const r = await s.channels.getUserRouting(await callOf(auth, ctx), req.userId);
      return { channels: r.channels.map((c) => ({ channelId: c.channel_id, teamId: c.team_id, type: c.type })), teamIds: r.teamIds };
    },
    // Internal (presence): allowed without a token; with one, for the caller's own partners.
    async listDirectPartners(req, ctx) {
      return { userIds: await s.channels.listDirectPartners(await auth.optionalActor(ctx), req.userId) };
    },
    // Internal (edges repairing a gap): allowed without a token; with one, for a channel member.
    async getChannelEvents(req, ctx) {
      return { events: await s.channelEvents.getChannelEvents(await auth.optionalActor(ctx), req.channelId, req.afterSeq, req.upToSeq) };
    },
    // Internal (edges checking their channels after an outage): allowed without a token; with one, for the caller's channels.
    async getChannelHeads(req, ctx) {
      return { heads: await s.channelEvents.getChannelHeads(await auth.optionalActor(ctx), req.channelIds) };
    },
  };
}
