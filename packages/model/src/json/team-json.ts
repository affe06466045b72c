import type { Channel, ChannelMember, Team, TeamMember } from "@switchboard/proto/posts";
import { parseJsonObject } from "./json-bytes.js";

/** Mattermost's Team JSON. */
export function teamToJson(t: Team): Record<string, unknown> {
  return {
    id: t.id,
    create_at: Number(t.createAt),
    update_at: Number(t.updateAt),
    delete_at: Number(t.deleteAt),
    display_name: t.displayName,
    name: t.name,
    description: t.description,
    email: t.email,
    type: t.type,
    company_name: t.companyName,
    allowed_domains: t.allowedDomains,
    invite_id: t.inviteId,
    allow_open_invite: t.allowOpenInvite,
    scheme_id: null,
    group_constrained: null,
    policy_id: null,
    cloud_limits_archived: false,
  };
}

/** Mattermost's TeamMember JSON. */
export function teamMemberToJson(m: TeamMember): Record<string, unknown> {
  return {
    team_id: m.teamId,
    user_id: m.userId,
    roles: m.roles,
    delete_at: Number(m.deleteAt),
    scheme_guest: false,
    scheme_user: m.schemeUser,
    scheme_admin: m.schemeAdmin,
    explicit_roles: "",
  };
}

/** Mattermost's Channel JSON (server/public/model/channel.go; policy_actions is omitempty and never set here). */
export function channelToJson(c: Channel): Record<string, unknown> {
  return {
    id: c.id,
    create_at: Number(c.createAt),
    update_at: Number(c.updateAt),
    delete_at: Number(c.deleteAt),
    team_id: c.teamId,
    type: c.type,
    display_name: c.displayName,
    name: c.name,
    header: c.header,
    purpose: c.purpose,
    last_post_at: Number(c.lastPostAt),
    total_msg_count: Number(c.totalMsgCount),
    extra_update_at: Number(c.extraUpdateAt),
    creator_id: c.creatorId,
    scheme_id: null,
    props: null,
    group_constrained: null,
    autotranslation: false,
    shared: null,
    total_msg_count_root: Number(c.totalMsgCountRoot),
    policy_id: null,
    last_root_post_at: Number(c.lastRootPostAt),
    banner_info: null,
    policy_enforced: false,
    policy_is_active: false,
    default_category_name: "",
    managed_category_name: "",
    discoverable: false,
  };
}

/** Mattermost's ChannelMember JSON. */
export function channelMemberToJson(m: ChannelMember): Record<string, unknown> {
  return {
    channel_id: m.channelId,
    user_id: m.userId,
    roles: m.roles,
    last_viewed_at: Number(m.lastViewedAt),
    msg_count: Number(m.msgCount),
    mention_count: Number(m.mentionCount),
    mention_count_root: Number(m.mentionCountRoot),
    urgent_mention_count: Number(m.urgentMentionCount),
    msg_count_root: Number(m.msgCountRoot),
    notify_props: parseJsonObject(m.notifyPropsJson),
    last_update_at: Number(m.lastUpdateAt),
    scheme_guest: false,
    scheme_user: m.schemeUser,
    scheme_admin: m.schemeAdmin,
    explicit_roles: "",
  };
}
