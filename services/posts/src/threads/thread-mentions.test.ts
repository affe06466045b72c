import { describe, expect, it } from "vitest";
import { countThreadMentions } from "./thread-mentions.js";

const reply = (user_id: string, message: string) => ({ user_id, message });

describe("countThreadMentions", () => {
  it("counts replies naming the user or the whole channel, not the user's own", () => {
    const replies = [reply("b", "hi @alice."), reply("b", "@all look"), reply("b", "nothing"), reply("a", "@alice me"), reply("b", "`@alice` in code")];
    expect(countThreadMentions(replies, { userId: "a", username: "alice", channelType: "O" })).toBe(2);
  });
  it("counts every reply of the other user in a direct channel", () => {
    expect(countThreadMentions([reply("b", "x"), reply("b", "y"), reply("a", "z")], { userId: "a", username: "alice", channelType: "D" })).toBe(2);
  });
});
