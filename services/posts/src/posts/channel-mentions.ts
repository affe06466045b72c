/**
 * `~channel-name` links, as Mattermost's FillInPostProps fills them on every create and edit:
 * props.channel_mentions maps each mentioned public channel of the post's team to its
 * display name, team name and id, so that clients that have not loaded the channel can still
 * render the link. Whatever a client sent under that key is replaced (or dropped when the
 * message mentions no such channel): the prop is the server's word, never the client's.
 * Direct and group channels have no team and get no channel mentions. Only public channels
 * are listed, so every reader of a team channel (a member of its team) may see each entry.
 */
import type { Queryable } from "@switchboard/db";

const CHANNEL_MENTIONS_PROP = "channel_mentions";

/** Channel names looked up per post; later ones in an enormous message are not linked. */
export const MAX_CHANNEL_MENTIONS = 200;

// model.channelMentionRegexp: `\B~[a-zA-Z0-9\-_]+` (ASCII classes, as in Go's RE2).
const CHANNEL_MENTION = /\B~[a-zA-Z0-9\-_]+/g;

/** The distinct channel names a message mentions with `~`, in order of first mention. */
export function parseChannelMentions(message: string): string[] {
  if (!message.includes("~")) return [];
  const names = new Set<string>();
  for (const m of message.matchAll(CHANNEL_MENTION)) {
    names.add(m[0].slice(1));
    if (names.size === MAX_CHANNEL_MENTIONS) break;
  }
  return [...names];
}

/** The props without a client-supplied channel_mentions entry. */
export function withoutChannelMentions(props: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (typeof props !== "object" || props === null || Array.isArray(props)) return {};
  if (!(CHANNEL_MENTIONS_PROP in props)) return { ...props };
  const { [CHANNEL_MENTIONS_PROP]: _dropped, ...rest } = props;
  return rest;
}

/**
 * `props` with channel_mentions filled in for the channel `names` a message mentions
 * (parseChannelMentions), posted in a channel of `teamId` ("" for none).
 */
export async function fillChannelMentions(
  q: Queryable,
  props: Readonly<Record<string, unknown>>,
  names: readonly string[],
  teamId: string,
): Promise<Record<string, unknown>> {
  const out = withoutChannelMentions(props);
  if (teamId === "" || names.length === 0) return out;
  const { rows } = await q.query<{ id: string; name: string; display_name: string; team_name: string }>(
    `SELECT c.id, c.name, c.display_name, t.name AS team_name
     FROM channels c JOIN teams t ON t.id = c.team_id
     WHERE c.team_id = $1 AND c.name = ANY($2::text[]) AND c.type = 'O' AND c.delete_at = 0`,
    [teamId, names],
    { prepare: true },
  );
  if (rows.length === 0) return out;
  const mentions: Record<string, { display_name: string; team_name: string; id: string }> = {};
  for (const r of rows) mentions[r.name] = { display_name: r.display_name, team_name: r.team_name, id: r.id };
  out[CHANNEL_MENTIONS_PROP] = mentions;
  return out;
}
