import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { createTokenVerifier, parseServiceTokenKey, signServiceToken } from "./service-token.js";

describe("a service-token key file", () => {
  it("holds base64 or base64url of at least 32 bytes, whitespace around it ignored", () => {
    const key = randomBytes(32);
    expect(Buffer.from(parseServiceTokenKey(`${key.toString("base64")}\n`, "f"))).toEqual(key);
    expect(Buffer.from(parseServiceTokenKey(`  ${key.toString("base64url")}  `, "f"))).toEqual(key);
  });

  it("is refused when short or not base64, naming the file and never the content", () => {
    const short = randomBytes(16).toString("base64");
    expect(() => parseServiceTokenKey(short, "/keys/gateway.key")).toThrow("/keys/gateway.key holds a key of 16 bytes; at least 32 are required");
    const garbage = `${randomBytes(32).toString("hex")}!secret-ish`;
    let message = "";
    try {
      parseServiceTokenKey(garbage, "/keys/gateway.key");
    } catch (e: unknown) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^\/keys\/gateway\.key does not hold a base64 key/);
    expect(message).not.toContain("secret-ish");
    expect(() => parseServiceTokenKey("", "f")).toThrow(/does not hold a base64 key/);
  });

  it("signs tokens the verifier holding the same key accepts, and one holding another refuses", () => {
    const key = parseServiceTokenKey(randomBytes(32).toString("base64"), "f");
    const token = signServiceToken("gateway", key, 60_000);
    expect(createTokenVerifier(new Map([["gateway", key]]))(token)).toBe("gateway");
    expect(createTokenVerifier(new Map([["gateway", randomBytes(32)]]))(token)).toBeUndefined();
  });
});
