import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { defaultProfileImage, profileColor } from "./profile-image.js";

describe("default profile image", () => {
  it("picks Mattermost's palette colour by FNV-1a of the id", () => {
    // FNV-1a 32 of "a" is 0xe40c292c (the published test vector); 0xe40c292c % 26 = 14 -> (197, 19, 19).
    expect(0xe40c292c % 26).toBe(14);
    expect(profileColor("a")).toEqual([197, 19, 19]);
  });

  it("is a 128x128 PNG of that colour, the same bytes every time", () => {
    const id = "8xk1bq9d7fgw3c5hxa6y4p2tno";
    const png = PNG.sync.read(defaultProfileImage(id));
    expect([png.width, png.height]).toEqual([128, 128]);
    const [r, g, b] = profileColor(id);
    expect([...png.data.subarray(0, 4)]).toEqual([r, g, b, 255]);
    expect([...png.data.subarray(png.data.length - 4)]).toEqual([r, g, b, 255]);
    expect(defaultProfileImage(id).equals(defaultProfileImage(id))).toBe(true);
  });
});
