/**
 * Signing keys: the newest key not yet retired signs new tokens; every key stays published
 * until the last token it could have signed expires. Replicas share keys through the
 * database; creation of a new key is serialized by an advisory lock.
 */
import type { Db, Queryable } from "@switchboard/db";
import { newId } from "@switchboard/model";
import { generateSigningKey, type PrivateSigningKey, type PublicSigningKey } from "@switchboard/tokens";

interface KeyRow {
  kid: string;
  private_key: Uint8Array;
  public_key: Uint8Array;
  created_at: number;
  retire_at: number;
  expires_at: number;
}

export interface KeyManager {
  /** The key to sign with now (creating or rotating as needed). */
  current(): Promise<PrivateSigningKey>;
  /** Every key a verifier must still accept, with its verify-until time. */
  published(): Promise<PublicSigningKey[]>;
}

export function createKeyManager(o: { db: Db; rotationMs: number; maxTokenLifetimeMs: number; now?: () => number }): KeyManager {
  const now = o.now ?? Date.now;
  let cached: { key: PrivateSigningKey; retireAt: number } | undefined;

  const toPrivate = (r: KeyRow): PrivateSigningKey => ({
    kid: r.kid,
    privateKeyDer: new Uint8Array(r.private_key),
    publicKey: new Uint8Array(r.public_key),
  });

  async function newestActive(q: Queryable, t: number): Promise<KeyRow | undefined> {
    return (await q.query<KeyRow>("SELECT * FROM signing_keys WHERE retire_at > $1 AND created_at <= $1 ORDER BY created_at DESC LIMIT 1", [t])).rows[0];
  }

  return {
    async current() {
      const t = now();
      if (cached && cached.retireAt > t) return cached.key;
      let row = await newestActive(o.db, t);
      if (!row) {
        row = await o.db.tx(async (q) => {
          await q.query("SELECT pg_advisory_xact_lock(hashtext('sb_accounts_signing_key'))");
          const again = await newestActive(q, t);
          if (again) return again;
          const k = generateSigningKey(newId());
          const fresh: KeyRow = {
            kid: k.kid,
            private_key: k.privateKeyDer,
            public_key: k.publicKey,
            created_at: t,
            retire_at: t + o.rotationMs,
            expires_at: t + o.rotationMs + o.maxTokenLifetimeMs,
          };
          await q.query("INSERT INTO signing_keys (kid, private_key, public_key, created_at, retire_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6)", [
            fresh.kid,
            fresh.private_key,
            fresh.public_key,
            fresh.created_at,
            fresh.retire_at,
            fresh.expires_at,
          ]);
          return fresh;
        });
      }
      cached = { key: toPrivate(row), retireAt: Number(row.retire_at) };
      return cached.key;
    },
    async published() {
      const { rows } = await o.db.query<KeyRow>("SELECT * FROM signing_keys WHERE expires_at > $1 ORDER BY created_at", [now()]);
      return rows.map((r) => ({ kid: r.kid, publicKey: new Uint8Array(r.public_key), expiresAt: Number(r.expires_at), notBefore: Number(r.created_at) }));
    },
  };
}
