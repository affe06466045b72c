/**
 * Mattermost's ParseHashtags (model/utils.go): words that are "#" plus a letter, then
 * letters, digits, '-', '_' or '.', ending in a letter or digit; surrounding punctuation is
 * ignored; at most 1000 characters in all.
 */
const PUNCT_START = /^[^\p{L}\d\s#]+/u;
const PUNCT_END = /[^\p{L}\d\s]+$/u;
const HASH_START = /^#{2,}/;
const VALID = /^#\p{L}[\p{L}\d\-_.]*[\p{L}\d]$/u;

const MAX_HASHTAGS_LENGTH = 1000;

export function parseHashtags(text: string): string {
  const tags: string[] = [];
  for (const raw of text.split(/\s+/)) {
    const word = raw.replace(PUNCT_START, "").replace(PUNCT_END, "").replace(HASH_START, "#");
    if (VALID.test(word)) tags.push(word);
  }
  let out = tags.join(" ");
  if (out.length > MAX_HASHTAGS_LENGTH) {
    out = out.slice(0, MAX_HASHTAGS_LENGTH - 1);
    const lastSpace = out.lastIndexOf(" ");
    out = lastSpace > -1 ? out.slice(0, lastSpace) : "";
  }
  return out;
}
