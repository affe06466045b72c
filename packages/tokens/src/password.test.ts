import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./password.js";

describe("password hashes", () => {
  it("verifies the password it hashed and refuses another, a tampered hash and a foreign format", async () => {
    const h = await hashPassword("correct horse");
    expect(h.split("$")).toHaveLength(6);
    expect(await verifyPassword("correct horse", h)).toBe(true);
    expect(await verifyPassword("correct horsf", h)).toBe(false);
    const parts = h.split("$");
    parts[5] = Buffer.from("x".repeat(32)).toString("base64url");
    expect(await verifyPassword("correct horse", parts.join("$"))).toBe(false);
    expect(await verifyPassword("correct horse", "bcrypt$whatever")).toBe(false);
  });

  it("salts each hash", async () => {
    expect(await hashPassword("same")).not.toBe(await hashPassword("same"));
  });
});
