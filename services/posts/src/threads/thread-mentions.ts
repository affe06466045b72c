/**
 * Mattermost's countThreadMentions (app/thread.go): how many of a thread's replies mention the
 * user. In a direct channel every reply of the other user does; elsewhere a reply does when it
 * names the user (@username) or the whole channel (@channel, @all, @here).
 */
import { parseMentions, usernameCandidates } from "../posts/mentions.js";

export function countThreadMentions(
  replies: readonly { user_id: string; message: string }[],
  user: { readonly userId: string; readonly username: string; readonly channelType: string },
): number {
  let n = 0;
  for (const p of replies) {
    if (p.user_id === user.userId) continue;
    if (user.channelType === "D") {
      n++;
      continue;
    }
    const m = parseMentions(p.message);
    if (m.channelWide || m.words.some((w) => usernameCandidates(w).includes(user.username.toLowerCase()))) n++;
  }
  return n;
}
