/**
 * Signing-key rotation over time (a clock of the test's own, a test database): the next key
 * is published before it signs, and a retired key stays published, so its tokens verify,
 * until the last of them expires.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { migrate, openDatabase, type Db } from "@switchboard/db";
import { createTestDatabase, type TestDatabase } from "@switchboard/testkit";
import {
  createAesGcmKeyWrapper,
  createKeyRing,
  createRevocationSet,
  createSessionVerifier,
  generateKek,
  signToken,
  TokenError,
  type PublicSigningKey,
} from "@switchboard/tokens";
import { createKeyManager, type KeyManager } from "../src/keys/key-manager.js";
import { migrations, SCHEMA } from "../src/migrations.js";

const MIN = 60_000;
const ROTATION = 60 * MIN;
const AHEAD = 5 * MIN;
const LIFETIME = 30 * MIN;
const T0 = 1_700_000_000_000;

let pg: TestDatabase;
let db: Db;
let t = T0;
let keys: KeyManager;

beforeAll(async () => {
  pg = await createTestDatabase();
  db = await openDatabase({ url: pg.url, schema: SCHEMA, poolSize: 2 });
  await migrate(db, SCHEMA, migrations);
  keys = createKeyManager({
    db,
    wrapper: createAesGcmKeyWrapper([generateKek("k1")]),
    rotationMs: ROTATION,
    maxTokenLifetimeMs: LIFETIME,
    publishAheadMs: AHEAD,
    now: () => t,
  });
});

afterAll(async () => {
  await db?.close();
  await pg?.drop();
});

/** What a verifier that loaded the published keys at `t` says of a token at `t`. */
async function verdict(published: readonly PublicSigningKey[], token: string): Promise<string> {
  const ring = createKeyRing();
  ring.replace(published);
  const v = createSessionVerifier({ keys: ring, revocations: createRevocationSet(), refreshKeys: async () => {}, now: () => t });
  try {
    await v.verify(token);
    return "valid";
  } catch (e: unknown) {
    return e instanceof TokenError ? e.reason : String(e);
  }
}

it("publishes the next key ahead of its turn and keeps the retired one until its tokens expire", async () => {
  const a = await keys.current();
  expect((await keys.published()).map((k) => k.kid)).toEqual([a.kid]);

  // Before the publish-ahead window: still one key.
  t = T0 + ROTATION - AHEAD - 1;
  expect((await keys.current()).kid).toBe(a.kid);
  expect((await keys.published()).map((k) => k.kid)).toEqual([a.kid]);

  // Inside it: A still signs, and its successor is published (with the time it starts signing).
  t = T0 + ROTATION - AHEAD + 1;
  expect((await keys.current()).kid).toBe(a.kid);
  const ahead = await keys.published();
  expect(ahead).toHaveLength(2);
  const b = ahead[1]!;
  expect(b.notBefore).toBe(T0 + ROTATION);

  // A verifier that loaded the keys now accepts B's first tokens later without a refresh.
  const lastOfA = signToken({ uid: "u".repeat(26), sid: "s".repeat(26), roles: "system_user", iat: t, exp: t + LIFETIME }, a);

  t = T0 + ROTATION;
  const bKey = await keys.current();
  expect(bKey.kid).toBe(b.kid);
  const firstOfB = signToken({ uid: "u".repeat(26), sid: "t".repeat(26), roles: "system_user", iat: t, exp: t + LIFETIME }, bKey);
  expect(await verdict(ahead, firstOfB)).toBe("valid");

  // A is retired but still published: its last token verifies until that token expires.
  t = T0 + ROTATION + LIFETIME - AHEAD - 2_000;
  const later = await keys.published();
  expect(later.map((k) => k.kid)).toContain(a.kid);
  expect(await verdict(later, lastOfA)).toBe("valid");
  expect((await keys.current()).kid).toBe(b.kid);

  // Once every token A could have signed has expired, A is no longer published.
  t = T0 + ROTATION + LIFETIME + 1;
  expect((await keys.published()).map((k) => k.kid)).not.toContain(a.kid);
  // And the start-up step drops its row.
  expect((await keys.prepare()).dropped).toBe(1);
});
