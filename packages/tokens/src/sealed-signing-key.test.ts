import { describe, expect, it } from "vitest";
import {
  createAesGcmKeyWrapper,
  formatKeks,
  generateKek,
  generateSigningKey,
  KeyUnwrapError,
  openSigningKey,
  parseKeks,
  sealSigningKey,
  type KeyWrapper,
  type SealedSigningKey,
} from "./index.js";

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "opened";
  } catch (e) {
    return e instanceof KeyUnwrapError ? e.reason : `other: ${String(e)}`;
  }
}

describe("KEK lists", () => {
  it("reads id:base64 entries, the first one active, and writes them back", () => {
    const a = generateKek("k2");
    const b = generateKek("k1");
    const parsed = parseKeks(` ${formatKeks([a])},\n${formatKeks([b])} `);
    expect(parsed.map((k) => k.id)).toEqual(["k2", "k1"]);
    expect(Buffer.from(parsed[0]!.key).equals(Buffer.from(a.key))).toBe(true);
    expect(createAesGcmKeyWrapper(parsed).activeKekId).toBe("k2");
  });

  it("refuses short keys, missing ids and duplicates, without echoing key material", () => {
    const short = Buffer.alloc(16, 7).toString("base64");
    expect(() => parseKeks(`k1:${short}`)).toThrow(/KEK "k1" must be 32 bytes/);
    expect(() => parseKeks(`k1:${short}`)).not.toThrow(new RegExp(short.slice(0, 8)));
    expect(() => parseKeks(Buffer.alloc(32).toString("base64"))).toThrow(/no valid id/);
    const k = formatKeks([generateKek("k1")]);
    expect(() => parseKeks(`${k},${k}`)).toThrow(/given twice/);
    expect(() => parseKeks(" , ")).toThrow(/no KEK given/);
  });
});

describe("sealed signing keys", () => {
  const kek1 = generateKek("k1");
  const w1 = createAesGcmKeyWrapper([kek1]);

  it("round-trips, and the sealed bytes do not contain the private key", async () => {
    const key = generateSigningKey("sig1");
    const s = await sealSigningKey(w1, key);
    expect(s.kekId).toBe("k1");
    expect(Buffer.from(s.sealed).includes(Buffer.from(key.privateKeyDer))).toBe(false);
    // Not even the 32 bytes of the seed at the end of the PKCS#8 DER.
    expect(Buffer.from(s.sealed).includes(Buffer.from(key.privateKeyDer.slice(-32)))).toBe(false);
    const opened = await openSigningKey(w1, s);
    expect(Buffer.from(opened.privateKeyDer).equals(Buffer.from(key.privateKeyDer))).toBe(true);
  });

  it("refuses a wrong KEK of the same id, an unknown KEK id, and a row moved or altered", async () => {
    const key = generateSigningKey("sig1");
    const s = await sealSigningKey(w1, key);
    const impostor: KeyWrapper = createAesGcmKeyWrapper([generateKek("k1")]);
    expect(await failure(openSigningKey(impostor, s))).toBe("authentication_failed");
    expect(await failure(openSigningKey(createAesGcmKeyWrapper([generateKek("k9")]), s))).toBe("unknown_kek");
    const other = generateSigningKey("sig2");
    const moved: SealedSigningKey = { ...s, kid: other.kid, publicKey: other.publicKey };
    expect(await failure(openSigningKey(w1, moved))).toBe("authentication_failed");
    const flipped = new Uint8Array(s.sealed);
    flipped[20]! ^= 1;
    expect(await failure(openSigningKey(w1, { ...s, sealed: flipped }))).toBe("authentication_failed");
    // Relabelled with another configured KEK's id: the id is part of the associated data.
    const both = createAesGcmKeyWrapper([kek1, generateKek("k2")]);
    expect(await failure(openSigningKey(both, { ...s, kekId: "k2" }))).toBe("authentication_failed");
  });

  it("keeps opening what an older KEK wrapped after a new one became active, and re-wraps it under the new one", async () => {
    const key = generateSigningKey("sig1");
    const old = await sealSigningKey(w1, key);
    const rotated = createAesGcmKeyWrapper([generateKek("k2"), kek1]);
    const opened = await openSigningKey(rotated, old);
    const rewrapped = await sealSigningKey(rotated, opened);
    expect(rewrapped.kekId).toBe("k2");
    expect(await failure(openSigningKey(w1, rewrapped))).toBe("unknown_kek");
    expect(Buffer.from((await openSigningKey(rotated, rewrapped)).privateKeyDer).equals(Buffer.from(key.privateKeyDer))).toBe(true);
  });
});
