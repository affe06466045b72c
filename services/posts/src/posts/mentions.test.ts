import { describe, expect, it } from "vitest";
import { parseMentions, resolveMentionedUsers, usernameCandidates } from "./mentions.js";

describe("mentions", () => {
  it("finds @usernames outside code, case-insensitively", () => {
    expect([...parseMentions("hi @Alice and @bob.smith, see `@carol` and\n```\n@dave\n```").words].sort()).toEqual(["alice", "bob.smith"]);
    expect(parseMentions("email a@b.com is not a mention").words).toEqual([]);
    expect(parseMentions("@alice@bob").words).toEqual(["alice"]);
  });

  it("treats @channel, @all and @here as channel-wide", () => {
    expect(parseMentions("hey @channel").channelWide).toBe(true);
    expect(parseMentions("@all: look").channelWide).toBe(true);
    expect(parseMentions("@here.").channelWide).toBe(true);
    expect(parseMentions("@channels").channelWide).toBe(false);
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
