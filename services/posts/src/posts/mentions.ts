/**
 * Who a post mentions (Mattermost's getExplicitMentions, reduced to what the edge needs):
 * "@username" outside code, case-insensitive, with trailing '.', '-' or '_' allowed to be
 * punctuation ("@alice." mentions alice); "@channel" and "@all" mention every member of the
 * channel, "@here" those of them who are online.
 */
const CODE_BLOCK = /```[\s\S]*?```/g;
const INLINE_CODE = /`[^`\n]*`/g;
const MENTION = /(?:^|[^\p{L}\p{N}_.@-])@([a-z0-9][a-z0-9._-]*)/giu;
export interface ParsedMentions {
  /** Each mentioned word, lower-case, as written (trailing punctuation included). */
  readonly words: readonly string[];
  readonly channel: boolean;
  readonly all: boolean;
  /** @here: the members who are online. */
  readonly here: boolean;
  /** @channel or @all: every member. */
  readonly wholeChannel: boolean;
  /** Any of @channel, @all and @here. */
  readonly channelWide: boolean;
}

export function parseMentions(message: string): ParsedMentions {
  const text = message.replace(CODE_BLOCK, " ").replace(INLINE_CODE, " ");
  const words = new Set<string>();
  const special = { channel: false, all: false, here: false };
  for (const m of text.matchAll(MENTION)) {
    const word = m[1]!.toLowerCase();
    const bare = word.replace(/[._-]+$/, "");
    if (bare === "channel" || bare === "all" || bare === "here") special[bare] = true;
    else words.add(word);
  }
  const wholeChannel = special.channel || special.all;
  return { words: [...words], ...special, wholeChannel, channelWide: wholeChannel || special.here };
}

/** The usernames a word may name: itself, then without each trailing '.', '-' or '_'. */
export function usernameCandidates(word: string): string[] {
  const out = [word];
  let w = word;
  while (/[._-]$/.test(w)) {
    w = w.slice(0, -1);
    if (w !== "") out.push(w);
  }
  return out;
}

/** The users the words name, given which candidate usernames exist (the longest match wins). */
export function resolveMentionedUsers(words: readonly string[], existing: ReadonlyMap<string, { id: string }>): string[] {
  const ids = new Set<string>();
  for (const word of words) {
    const hit = usernameCandidates(word).find((c) => existing.has(c));
    if (hit) ids.add(existing.get(hit)!.id);
  }
  return [...ids];
}
