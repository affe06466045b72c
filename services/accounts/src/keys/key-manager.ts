/**
 * Signing keys: the newest key whose time has come and that is not yet retired signs new
 * tokens; every key stays published until the last token it could have signed expires. The
 * next key is created and published `publishAheadMs` before it takes over, so verifiers know
 * it before the first token it signs reaches them. Replicas share keys through the database;
 * creation is serialized by an advisory lock.
 *
 * At rest a private key is wrapped by a KEK (sealed-signing-key in @switchboard/tokens): the
 * row holds no usable key material. `prepare` (at start) seals rows stored in clear by older
 * versions, re-wraps rows wrapped by a KEK that is no longer the active one (KEK rotation),
 * drops keys whose tokens have all expired, and fails when a live key does not open.
 */
import type { Db, Queryable } from "@switchboard/db";
import { newId } from "@switchboard/model";
import {
  generateSigningKey,
  KeyUnwrapError,
  openSigningKey,
  sealSigningKey,
  type KeyWrapper,
  type PrivateSigningKey,
  type PublicSigningKey,
} from "@switchboard/tokens";

interface KeyRow {
  kid: string;
  /** Wrapped under kek_id; the PKCS#8 DER in clear when kek_id is null (rows of older versions). */
  private_key: Uint8Array;
  public_key: Uint8Array;
  kek_id: string | null;
  created_at: number;
  retire_at: number;
  expires_at: number;
}

export interface KeyManager {
  /** Seals, re-wraps and checks the stored keys (start-up); throws when a live key does not open. */
  prepare(): Promise<{ sealed: number; rewrapped: number; dropped: number }>;
  /** The key to sign with now (creating or rotating as needed). */
  current(): Promise<PrivateSigningKey>;
  /** Every key a verifier must still accept, with its verify-until time. */
  published(): Promise<PublicSigningKey[]>;
}

const LOCK = "SELECT pg_advisory_xact_lock(hashtext('sb_accounts_signing_key'))";

export function createKeyManager(o: {
  db: Db;
  wrapper: KeyWrapper;
  rotationMs: number;
  maxTokenLifetimeMs: number;
  publishAheadMs?: number;
  now?: () => number;
}): KeyManager {
  const now = o.now ?? Date.now;
  const ahead = Math.min(o.publishAheadMs ?? 60 * 60 * 1000, Math.floor(o.rotationMs / 2));
  /** Valid until `checkAt`: then the successor's existence is checked (or the key retires). */
  let cached: { key: PrivateSigningKey; checkAt: number } | undefined;

  async function open(r: KeyRow): Promise<PrivateSigningKey> {
    const publicKey = new Uint8Array(r.public_key);
    if (r.kek_id === null) throw new Error(`signing key ${r.kid} is stored in clear`);
    try {
      return await openSigningKey(o.wrapper, { kid: r.kid, publicKey, kekId: r.kek_id, sealed: new Uint8Array(r.private_key) });
    } catch (e: unknown) {
      if (!(e instanceof KeyUnwrapError)) throw e;
      const fix =
        e.reason === "unknown_kek"
          ? `add KEK "${r.kek_id}" to SB_ACCOUNTS_KEK (or SB_ACCOUNTS_KEK_FILE), after the active one, until accounts has re-wrapped the keys`
          : `SB_ACCOUNTS_KEK (or SB_ACCOUNTS_KEK_FILE) holds a KEK "${r.kek_id}" that is not the one this key was wrapped with`;
      throw new Error(`signing key ${r.kid} cannot be unwrapped: ${e.message}; ${fix}`, { cause: e });
    }
  }

  async function store(q: Queryable, key: PrivateSigningKey, update: boolean, times?: { created: number; retire: number; expires: number }) {
    const s = await sealSigningKey(o.wrapper, key);
    if (update) {
      await q.query("UPDATE signing_keys SET private_key = $2, kek_id = $3 WHERE kid = $1", [s.kid, s.sealed, s.kekId]);
      return;
    }
    await q.query("INSERT INTO signing_keys (kid, private_key, public_key, kek_id, created_at, retire_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7)", [
      s.kid,
      s.sealed,
      s.publicKey,
      s.kekId,
      times!.created,
      times!.retire,
      times!.expires,
    ]);
  }

  async function createKey(q: Queryable, from: number): Promise<void> {
    await store(q, generateSigningKey(newId()), false, { created: from, retire: from + o.rotationMs, expires: from + o.rotationMs + o.maxTokenLifetimeMs });
  }

  async function newestActive(q: Queryable, t: number): Promise<KeyRow | undefined> {
    return (await q.query<KeyRow>("SELECT * FROM signing_keys WHERE retire_at > $1 AND created_at <= $1 ORDER BY created_at DESC LIMIT 1", [t])).rows[0];
  }

  async function hasSuccessor(q: Queryable, r: KeyRow): Promise<boolean> {
    return (await q.query("SELECT 1 FROM signing_keys WHERE created_at > $1 LIMIT 1", [Number(r.created_at)])).rows.length > 0;
  }

  /** The active key at t, creating it and (when it retires within `ahead`) its successor. */
  async function activeRow(t: number): Promise<{ row: KeyRow; successor: boolean }> {
    const row = await newestActive(o.db, t);
    if (row && row.kek_id !== null && (Number(row.retire_at) - t > ahead || (await hasSuccessor(o.db, row)))) {
      return { row, successor: Number(row.retire_at) - t <= ahead };
    }
    return o.db.tx(async (q) => {
      await q.query(LOCK);
      let active = await newestActive(q, t);
      if (active?.kek_id === null) await sealClear(q);
      if (!active) await createKey(q, t);
      active = (await newestActive(q, t))!;
      if (Number(active.retire_at) - t <= ahead && !(await hasSuccessor(q, active))) await createKey(q, Number(active.retire_at));
      return { row: active, successor: Number(active.retire_at) - t <= ahead };
    });
  }

  /** Seals every live row stored in clear (an older version wrote it); call under LOCK. */
  async function sealClear(q: Queryable): Promise<number> {
    const { rows } = await q.query<KeyRow>("SELECT * FROM signing_keys WHERE kek_id IS NULL");
    for (const r of rows) {
      await store(q, { kid: r.kid, privateKeyDer: new Uint8Array(r.private_key), publicKey: new Uint8Array(r.public_key) }, true);
    }
    return rows.length;
  }

  return {
    async prepare() {
      return o.db.tx(async (q) => {
        await q.query(LOCK);
        const dropped = (await q.query("DELETE FROM signing_keys WHERE expires_at <= $1", [now()])).rowCount ?? 0;
        const sealed = await sealClear(q);
        let rewrapped = 0;
        for (const r of (await q.query<KeyRow>("SELECT * FROM signing_keys ORDER BY created_at")).rows) {
          const key = await open(r);
          if (r.kek_id !== o.wrapper.activeKekId) {
            await store(q, key, true);
            rewrapped++;
          }
        }
        return { sealed, rewrapped, dropped };
      });
    },
    async current() {
      const t = now();
      if (cached && cached.checkAt > t) return cached.key;
      const { row, successor } = await activeRow(t);
      const key = cached?.key.kid === row.kid ? cached.key : await open(row);
      const retireAt = Number(row.retire_at);
      cached = { key, checkAt: successor ? retireAt : retireAt - ahead };
      return key;
    },
    async published() {
      const { rows } = await o.db.query<KeyRow>("SELECT kid, public_key, created_at, expires_at FROM signing_keys WHERE expires_at > $1 ORDER BY created_at", [
        now(),
      ]);
      return rows.map((r) => ({ kid: r.kid, publicKey: new Uint8Array(r.public_key), expiresAt: Number(r.expires_at), notBefore: Number(r.created_at) }));
    },
  };
}
