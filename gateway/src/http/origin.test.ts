import { describe, expect, it } from "vitest";
import { originAllowed } from "./origin.js";

describe("originAllowed (CSWSH table)", () => {
  const site = { siteUrl: "https://app.example.com", allowCorsFrom: [] };
  it.each([
    ["", true],
    ["https://app.example.com", true],
    ["https://APP.example.com", true],
    ["null", false],
    ["https://evil.example", false],
    ["https://app.example.com.evil.com", false],
    ["https://evilapp.example.com", false],
    ["http://app.example.com", false],
    ["https://app.example.com:8443", false],
    ["javascript:alert(1)", false],
    ["not a url", false],
  ])("with SiteURL: %s -> %s", (origin, ok) => {
    expect(originAllowed(origin, "app.example.com", site)).toBe(ok);
  });

  it("without SiteURL compares with the Host header", () => {
    const p = { siteUrl: "", allowCorsFrom: [] };
    expect(originAllowed("http://127.0.0.1:8065", "127.0.0.1:8065", p)).toBe(true);
    expect(originAllowed("http://127.0.0.1:9999", "127.0.0.1:8065", p)).toBe(false);
  });

  it("AllowCorsFrom lists exact origins", () => {
    const p = { siteUrl: "https://app.example.com", allowCorsFrom: ["https://other.example.com"] };
    expect(originAllowed("https://other.example.com", "x", p)).toBe(true);
    expect(originAllowed("https://app.example.com", "x", p)).toBe(true);
    expect(originAllowed("https://third.example.com", "x", p)).toBe(false);
  });
});
