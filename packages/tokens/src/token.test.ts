import { generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createKeyRing, createRevocationSet, createSessionVerifier, generateSigningKey, signToken, TokenError } from "./index.js";

const uid = "a".repeat(26);
const sid = "b".repeat(26);

function setup(now = Date.now()) {
  const key = generateSigningKey("k1");
  const keys = createKeyRing();
  keys.replace([{ kid: "k1", publicKey: key.publicKey, expiresAt: now + 3_600_000 }]);
  const revocations = createRevocationSet();
  let refreshes = 0;
  const verifier = createSessionVerifier({ keys, revocations, refreshKeys: async () => void refreshes++, now: () => now });
  return { key, keys, revocations, verifier, refreshes: () => refreshes, now };
}

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "accepted";
  } catch (e) {
    return e instanceof TokenError ? e.reason : `other: ${String(e)}`;
  }
}

describe("session tokens", () => {
  it("verifies a token offline with the published key", async () => {
    const { key, verifier, now } = setup();
    const token = signToken({ uid, sid, roles: "system_user", iat: now, exp: now + 60_000 }, key);
    const claims = await verifier.verify(token);
    expect(claims.uid).toBe(uid);
    expect(claims.sid).toBe(sid);
    expect(verifier.verifyCached(token)?.uid).toBe(uid);
  });

  it("rejects tampered, expired, wrong-key, alg-none and revoked tokens", async () => {
    const { key, verifier, revocations, now, refreshes } = setup();
    const good = signToken({ uid, sid, roles: "system_user", iat: now, exp: now + 60_000 }, key);
    const [h, p, s] = good.split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString()) as { roles: string };
    payload.roles = "system_user system_admin";
    const tampered = `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`;
    expect(await reason(verifier.verify(tampered))).toBe("bad_signature");

    const expired = signToken({ uid, sid, roles: "", iat: now - 120_000, exp: now - 60_000 }, key);
    expect(await reason(verifier.verify(expired))).toBe("expired");

    const other = generateSigningKey("k1");
    const wrongKey = signToken({ uid, sid, roles: "", iat: now, exp: now + 60_000 }, other);
    expect(await reason(verifier.verify(wrongKey))).toBe("bad_signature");

    const unknownKid = signToken({ uid, sid, roles: "", iat: now, exp: now + 60_000 }, generateSigningKey("k9"));
    expect(await reason(verifier.verify(unknownKid))).toBe("unknown_key");
    expect(refreshes()).toBe(1);

    const none = `${Buffer.from(JSON.stringify({ alg: "none", kid: "k1" })).toString("base64url")}.${p}.`;
    expect(await reason(verifier.verify(none))).toBe("malformed");

    // HS256 "key confusion": HMAC with the public key as the secret.
    const hsHeader = Buffer.from(JSON.stringify({ alg: "HS256", kid: "k1" })).toString("base64url");
    const { privateKey } = generateKeyPairSync("ed25519");
    const forged = `${hsHeader}.${p}.${sign(null, Buffer.from(`${hsHeader}.${p}`), privateKey).toString("base64url")}`;
    expect(await reason(verifier.verify(forged))).toBe("malformed");

    for (const junk of ["", "a.b", "a.b.c.d", "x".repeat(5000), "a.b$.c"]) {
      expect(await reason(verifier.verify(junk))).toBe("malformed");
    }

    expect(await reason(verifier.verify(good))).toBe("accepted");
    revocations.add(sid, now + 60_000);
    expect(await reason(verifier.verify(good))).toBe("revoked");
  });

  it("refuses tokens signed with a key past its lifetime", async () => {
    const now = Date.now();
    const key = generateSigningKey("old");
    const keys = createKeyRing();
    keys.replace([{ kid: "old", publicKey: key.publicKey, expiresAt: now - 1 }]);
    const verifier = createSessionVerifier({ keys, revocations: createRevocationSet(), refreshKeys: async () => {}, now: () => now });
    const token = signToken({ uid, sid, roles: "", iat: now - 1000, exp: now + 60_000 }, key);
    expect(await reason(verifier.verify(token))).toBe("expired");
  });
});
