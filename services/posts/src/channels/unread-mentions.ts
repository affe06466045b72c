/**
 * How many of a channel's unread posts mention a user, as Mattermost counts them when a post
 * is marked unread (app/channel.go countMentionsFromPost): in direct and group channels every
 * post by someone else counts; elsewhere a post by someone else counts when it names the user
 * ("@username") or, unless the member ignores channel mentions, the whole channel ("@channel",
 * "@all", "@here"). Root posts are also counted apart (the collapsed-threads badge).
 */
import { parseMentions, usernameCandidates } from "../posts/mentions.js";

export interface UnreadPost {
  readonly user_id: string;
  readonly root_id: string;
  readonly message: string;
}

export interface MentionCounts {
  readonly mentions: number;
  readonly mentionsRoot: number;
}

export function countUnreadMentions(
  posts: readonly UnreadPost[],
  user: { readonly id: string; readonly username: string },
  o: { readonly channelType: string; readonly ignoreChannelMentions: boolean },
): MentionCounts {
  const everyPost = o.channelType === "D" || o.channelType === "G";
  const username = user.username.toLowerCase();
  let mentions = 0;
  let mentionsRoot = 0;
  for (const p of posts) {
    if (p.user_id === user.id) continue;
    let hit = everyPost;
    if (!hit) {
      const m = parseMentions(p.message);
      hit = (!o.ignoreChannelMentions && m.channelWide) || m.words.some((w) => usernameCandidates(w).includes(username));
    }
    if (!hit) continue;
    mentions++;
    if (p.root_id === "") mentionsRoot++;
  }
  return { mentions, mentionsRoot };
}
