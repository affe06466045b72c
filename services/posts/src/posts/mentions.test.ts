import { describe, expect, it } from "vitest";
import { parseMentions, resolveMentionedUsers, usernameCandidates } from "./mentions.js";

describe("mentions", () => {
  it("finds @usernames outside code, case-insensitively", () => {
    expect([...parseMentions("hi @Alice and @bob.smith, see `@carol` and\n```\n@dave\n```").words].sort()).toEqual(["alice", "bob.smith"]);
    expect(parseMentions("email a@b.com is not a mention").words).toEqual([]);
    expect(parseMentions("@alice@bob").words).toEqual(["alice"]);
  });

  it("treats @channel and @all as the whole channel, @here as its online members", () => {
    expect(parseMentions("hey @channel")).toMatchObject({ channel: true, all: false, wholeChannel: true, here: false, channelWide: true });
    expect(parseMentions("@all: look")).toMatchObject({ channel: false, all: true, wholeChannel: true, here: false, channelWide: true });
    expect(parseMentions("@here.")).toMatchObject({ wholeChannel: false, here: true, channelWide: true, words: [] });
    expect(parseMentions("@channels")).toMatchObject({ wholeChannel: false, here: false, channelWide: false, words: ["channels"] });
  });

  it("lets trailing punctuation end a username", () => {
    expect(usernameCandidates("alice._")).toEqual(["alice._", "alice.", "alice"]);
    const existing = new Map([
      ["alice", { id: "a" }],
      ["bob.", { id: "b" }],
    ]);
    expect(resolveMentionedUsers(["alice.", "bob..", "nobody"], existing).sort()).toEqual(["a", "b"]);
  });
});
