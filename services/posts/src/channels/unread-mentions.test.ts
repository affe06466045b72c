import { describe, expect, it } from "vitest";
import { countUnreadMentions } from "./unread-mentions.js";

const me = { id: "me", username: "alice" };
const post = (user_id: string, message: string, root_id = "") => ({ user_id, message, root_id });

describe("countUnreadMentions (Mattermost's countMentionsFromPost)", () => {
  it("counts @username and channel-wide words in a channel, never the user's own posts", () => {
    const posts = [
      post("bob", "hi @alice."),
      post("bob", "@channel look"),
      post("bob", "@here too", "root1"),
      post("bob", "@all"),
      post("bob", "nothing for you"),
      post("me", "@alice talking to myself"),
      post("bob", "`@alice` in code"),
      post("bob", "@alicex is someone else"),
    ];
    expect(countUnreadMentions(posts, me, { channelType: "O", ignoreChannelMentions: false })).toEqual({ mentions: 4, mentionsRoot: 3 });
  });

  it("ignores channel-wide words for a member who ignores channel mentions", () => {
    const posts = [post("bob", "@channel"), post("bob", "@ALICE")];
    expect(countUnreadMentions(posts, me, { channelType: "P", ignoreChannelMentions: true })).toEqual({ mentions: 1, mentionsRoot: 1 });
  });

  it("counts every post by someone else in direct and group channels", () => {
    const posts = [post("bob", "plain"), post("bob", "reply", "r"), post("me", "mine")];
    expect(countUnreadMentions(posts, me, { channelType: "D", ignoreChannelMentions: false })).toEqual({ mentions: 2, mentionsRoot: 1 });
    expect(countUnreadMentions(posts, me, { channelType: "G", ignoreChannelMentions: false })).toEqual({ mentions: 2, mentionsRoot: 1 });
  });
});
