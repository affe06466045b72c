import { describe, expect, it } from "vitest";
import { MAX_CHANNEL_MENTIONS, parseChannelMentions, withoutChannelMentions } from "./channel-mentions.js";

describe("parseChannelMentions", () => {
  it("finds ~names as Mattermost's \\B~[a-zA-Z0-9\\-_]+ does, each once, in order", () => {
    expect(parseChannelMentions("~town-square and ~off_topic, (~Paren2) ~town-square.")).toEqual(["town-square", "off_topic", "Paren2"]);
    // After a word character there is no mention; after punctuation or space there is.
    expect(parseChannelMentions("mail a~b x~y ~ alone ~~double")).toEqual(["double"]);
    expect(parseChannelMentions("no tilde at all")).toEqual([]);
    expect(parseChannelMentions("~é ~ok")).toEqual(["ok"]);
  });

  it("looks up at most MAX_CHANNEL_MENTIONS names", () => {
    const message = Array.from({ length: MAX_CHANNEL_MENTIONS + 50 }, (_, i) => `~c${i}`).join(" ");
    expect(parseChannelMentions(message)).toHaveLength(MAX_CHANNEL_MENTIONS);
  });

  it("drops a client's channel_mentions and keeps the other props", () => {
    expect(withoutChannelMentions({ a: 1, channel_mentions: { x: {} } })).toEqual({ a: 1 });
    expect(withoutChannelMentions({ a: 1 })).toEqual({ a: 1 });
  });
});
