import { create } from "@bufbuild/protobuf";
import type { Queryable } from "@switchboard/db";
import { jsonBytes } from "@switchboard/model";
import { ChannelMemberSchema, ChannelSchema, type Channel, type ChannelMember } from "@switchboard/proto/posts";
import { CREATION_SEQ } from "./channel-seq.js";
import { CHANNEL_COLUMNS, type ChannelRow } from "./channel-row.js";

export { CHANNEL_COLUMNS, type ChannelRow } from "./channel-row.js";

export interface ChannelMemberRow {
  channel_id: string;
  user_id: string;
  roles: string;
  last_viewed_at: number;
  msg_count: number;
  mention_count: number;
  mention_count_root: number;
  urgent_mention_count: number;
  msg_count_root: number;
  notify_props: Record<string, unknown>;
  last_update_at: number;
  scheme_user: boolean;
  scheme_admin: boolean;
}

const MEMBER_COLUMNS =
  "channel_id, user_id, roles, last_viewed_at, msg_count, mention_count, mention_count_root, urgent_mention_count, msg_count_root, notify_props, last_update_at, scheme_user, scheme_admin";

/** Columns with a table alias, for joins. */
export const prefixed = (columns: string, alias: string): string =>
  columns
    .split(", ")
    .map((c) => `${alias}.${c}`)
    .join(", ");

/** Mattermost's default channel notify props (model.GetDefaultChannelNotifyProps). */
const DEFAULT_CHANNEL_NOTIFY_PROPS = {
  desktop: "default",
  email: "default",
  mark_unread: "all",
  push: "default",
  ignore_channel_mentions: "default",
  channel_auto_follow_threads: "off",
};

function channelRoles(admin: boolean): string {
  return admin ? "channel_user channel_admin" : "channel_user";
}

export function channelToProto(r: ChannelRow): Channel {
  return create(ChannelSchema, {
    id: r.id,
    createAt: BigInt(r.create_at),
    updateAt: BigInt(r.update_at),
    deleteAt: BigInt(r.delete_at),
    teamId: r.team_id,
    type: r.type,
    displayName: r.display_name,
    name: r.name,
    header: r.header,
    purpose: r.purpose,
    lastPostAt: BigInt(r.last_post_at),
    totalMsgCount: BigInt(r.total_msg_count),
    extraUpdateAt: BigInt(r.extra_update_at),
    creatorId: r.creator_id,
    totalMsgCountRoot: BigInt(r.total_msg_count_root),
    lastRootPostAt: BigInt(r.last_root_post_at),
  });
}

export function channelMemberToProto(r: ChannelMemberRow): ChannelMember {
  return create(ChannelMemberSchema, {
    channelId: r.channel_id,
    userId: r.user_id,
    roles: r.roles,
    lastViewedAt: BigInt(r.last_viewed_at),
    msgCount: BigInt(r.msg_count),
    mentionCount: BigInt(r.mention_count),
    mentionCountRoot: BigInt(r.mention_count_root),
    urgentMentionCount: BigInt(r.urgent_mention_count),
    msgCountRoot: BigInt(r.msg_count_root),
    notifyPropsJson: jsonBytes(r.notify_props),
    lastUpdateAt: BigInt(r.last_update_at),
    schemeUser: r.scheme_user,
    schemeAdmin: r.scheme_admin,
  });
}

/** Inserts a channel unless (team_id, name) is taken; returns it only when inserted. */
export async function insertChannel(q: Queryable, r: ChannelRow): Promise<ChannelRow | undefined> {
  const { rows } = await q.query<ChannelRow>(
    `INSERT INTO channels (${CHANNEL_COLUMNS}, seq) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16, $17)
     ON CONFLICT (team_id, name) DO NOTHING RETURNING ${CHANNEL_COLUMNS}`,
    [
      r.id,
      r.create_at,
      r.update_at,
      r.delete_at,
      r.team_id,
      r.type,
      r.display_name,
      r.name,
      r.header,
      r.purpose,
      r.last_post_at,
      r.total_msg_count,
      r.extra_update_at,
      r.creator_id,
      r.total_msg_count_root,
      r.last_root_post_at,
      CREATION_SEQ.toString(),
    ],
  );
  return rows[0];
}

export async function channelByName(q: Queryable, teamId: string, name: string): Promise<ChannelRow | undefined> {
  return (await q.query<ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE team_id = $1 AND name = $2`, [teamId, name])).rows[0];
}

/** Adds members that are not members yet; returns the user ids actually added. */
export async function insertChannelMembers(
  q: Queryable,
  channelId: string,
  members: readonly { userId: string; admin: boolean }[],
  now: number,
): Promise<ChannelMemberRow[]> {
  if (members.length === 0) return [];
  const params: unknown[] = [channelId, now, JSON.stringify(DEFAULT_CHANNEL_NOTIFY_PROPS)];
  const values = members.map((m) => {
    params.push(m.userId, channelRoles(m.admin), m.admin);
    const n = params.length;
    return `($1, $${n - 2}, $${n - 1}, 0, 0, 0, 0, 0, 0, $3::jsonb, $2, true, $${n})`;
  });
  const { rows } = await q.query<ChannelMemberRow>(
    `INSERT INTO channel_members (${MEMBER_COLUMNS}) VALUES ${values.join(", ")}
     ON CONFLICT (channel_id, user_id) DO NOTHING RETURNING ${MEMBER_COLUMNS}`,
    params,
  );
  return rows;
}

export async function deleteChannelMember(q: Queryable, channelId: string, userId: string): Promise<boolean> {
  return (await q.query("DELETE FROM channel_members WHERE channel_id = $1 AND user_id = $2", [channelId, userId])).rowCount > 0;
}

export async function channelMember(q: Queryable, channelId: string, userId: string): Promise<ChannelMemberRow | undefined> {
  return (await q.query<ChannelMemberRow>(`SELECT ${MEMBER_COLUMNS} FROM channel_members WHERE channel_id = $1 AND user_id = $2`, [channelId, userId])).rows[0];
}

export async function channelMemberIds(q: Queryable, channelId: string): Promise<string[]> {
  return (
    await q.query<{ user_id: string }>("SELECT user_id FROM channel_members WHERE channel_id = $1 ORDER BY user_id", [channelId], { prepare: true })
  ).rows.map((r) => r.user_id);
}

/** Those of `userIds` who are members of the channel. */
export async function channelMembersAmong(q: Queryable, channelId: string, userIds: readonly string[]): Promise<string[]> {
  return (
    await q.query<{ user_id: string }>("SELECT user_id FROM channel_members WHERE channel_id = $1 AND user_id = ANY($2::text[])", [channelId, userIds], {
      prepare: true,
    })
  ).rows.map((r) => r.user_id);
}

export async function channelMembersPage(q: Queryable, channelId: string, page: number, perPage: number): Promise<ChannelMemberRow[]> {
  return (
    await q.query<ChannelMemberRow>(`SELECT ${MEMBER_COLUMNS} FROM channel_members WHERE channel_id = $1 ORDER BY user_id LIMIT $2 OFFSET $3`, [
      channelId,
      perPage,
      page * perPage,
    ])
  ).rows;
}

/** The channels of a team (or every team when teamId is '') plus direct and group channels. */
export async function channelsForUser(q: Queryable, userId: string, teamId: string, includeDeleted: boolean): Promise<ChannelRow[]> {
  return (
    await q.query<ChannelRow>(
      `SELECT ${prefixed(CHANNEL_COLUMNS, "c")} FROM channels c JOIN channel_members m ON m.channel_id = c.id
       WHERE m.user_id = $1 AND ($2 = '' OR c.team_id = $2 OR c.team_id = '') AND ($3 OR c.delete_at = 0)
       ORDER BY c.display_name, c.id`,
      [userId, teamId, includeDeleted],
    )
  ).rows;
}

export async function channelMembersForUser(q: Queryable, userId: string, teamId: string): Promise<ChannelMemberRow[]> {
  return (
    await q.query<ChannelMemberRow>(
      `SELECT ${prefixed(MEMBER_COLUMNS, "m")} FROM channel_members m JOIN channels c ON c.id = m.channel_id
       WHERE m.user_id = $1 AND ($2 = '' OR c.team_id = $2 OR c.team_id = '') AND c.delete_at = 0 ORDER BY m.channel_id`,
      [userId, teamId],
    )
  ).rows;
}
