import { describe, expect, it } from "vitest";
import { parseHashtags } from "./hashtags.js";

describe("parseHashtags", () => {
  it("finds hashtags the way Mattermost does", () => {
    expect(parseHashtags("hello #world and #foo-bar.")).toBe("#world #foo-bar");
    expect(parseHashtags("(#paren) ##double #1bad #ok_2 #end-")).toBe("#paren #double #ok_2 #end");
    expect(parseHashtags("no tags here # #")).toBe("");
    expect(parseHashtags("#café #日本")).toBe("#café #日本");
  });

  it("keeps at most 1000 characters, cut at a word", () => {
    const out = parseHashtags(Array.from({ length: 300 }, (_, i) => `#tag${i}`).join(" "));
    expect(out.length).toBeLessThanOrEqual(1000);
    expect(out.endsWith(" ")).toBe(false);
    expect(out.split(" ").every((t) => /^#tag\d+$/.test(t))).toBe(true);
  });
});
