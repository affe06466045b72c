/**
 * Gateway leases: acquired once per gateway process, renewed by every report, closed by
 * exactly one compare-and-set (release, or expiry noticed by any replica's sweep). While a
 * lease is open its connections count; once closed they are closed as of its closed_at.
 */
import { KvConflictError } from "@switchboard/bus";
import type { Logger } from "@switchboard/log";
import { newId } from "@switchboard/model";
import { contended, leaseGone } from "../errors.js";
import type { PresenceMetrics } from "../metrics.js";
import type { PresenceCache } from "../store/presence-cache.js";
import type { PresenceKv, Versioned } from "../store/presence-kv.js";
import { expireLease, leaseUsable, newLeaseRecord, releaseLease, type LeaseRecord } from "./lease-record.js";

interface LeaseTerms {
  readonly leaseId: string;
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
}

export interface LeaseManager {
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
  acquire(gatewayId: string): Promise<LeaseTerms>;
  /** Extends an open lease; rejects with FAILED_PRECONDITION when it is closed, expired or unknown. */
  renew(leaseId: string): Promise<void>;
  /** Closes the lease as of now (its users get the grace); unknown or closed leases are a no-op. */
  release(leaseId: string): Promise<void>;
  /** When the lease's connections closed: undefined while open; 0 when long gone. */
  closedAt(leaseId: string): Promise<number | undefined>;
  /** Closes expired leases and deletes leases closed long enough ago. */
  sweep(now: number): Promise<void>;
}

const MAX_ATTEMPTS = 10;

export function createLeaseManager(o: {
  kv: PresenceKv;
  cache: PresenceCache;
  metrics: PresenceMetrics;
  log: Logger;
  ttlMs: number;
  graceMs: number;
  sweepIntervalMs: number;
  now?: () => number;
}): LeaseManager {
  const now = o.now ?? Date.now;
  const log = o.log.child({ part: "leases" });
  const renewIntervalMs = Math.max(100, Math.floor(o.ttlMs / 3));
  /** A report this soon after the last renewal does not write the lease again. */
  const rewriteAfterMs = Math.floor(renewIntervalMs / 2);
  /** How long a closed lease record stays, so every replica closes its connections at the right time. */
  const keepClosedMs = o.ttlMs + o.graceMs + 10 * o.sweepIntervalMs;

  async function load(leaseId: string): Promise<Versioned<LeaseRecord> | null> {
    const cached = o.cache.lease(leaseId);
    if (cached) return cached;
    const fresh = await o.kv.getLease(leaseId);
    if (fresh) o.cache.applyLease(leaseId, fresh.value, fresh.revision);
    return fresh;
  }

  /** CAS loop over one lease; `change` returns the new record, or undefined to stop. */
  async function casLease(leaseId: string, change: (l: Versioned<LeaseRecord> | null) => LeaseRecord | undefined): Promise<boolean> {
    let cur = await load(leaseId);
    for (let attempt = 1; ; attempt++) {
      const next = change(cur);
      if (!next || !cur) return false;
      try {
        const revision = await o.kv.writeLease(leaseId, next, cur.revision);
        o.cache.applyLease(leaseId, next, revision);
        return true;
      } catch (e: unknown) {
        if (!(e instanceof KvConflictError)) throw e;
        if (attempt >= MAX_ATTEMPTS) throw contended(`lease ${leaseId}`);
        cur = await o.kv.getLease(leaseId);
        if (cur) o.cache.applyLease(leaseId, cur.value, cur.revision);
      }
    }
  }

  return {
    ttlMs: o.ttlMs,
    renewIntervalMs,
    async acquire(gatewayId) {
      const leaseId = newId();
      const record = newLeaseRecord(gatewayId, now(), o.ttlMs);
      const revision = await o.kv.writeLease(leaseId, record, 0);
      o.cache.applyLease(leaseId, record, revision);
      o.metrics.lease("acquired");
      log.info({ lease_id: leaseId, gateway_id: gatewayId }, "lease acquired");
      return { leaseId, ttlMs: o.ttlMs, renewIntervalMs };
    },
    async renew(leaseId) {
      await casLease(leaseId, (cur) => {
        const t = now();
        if (!cur) throw leaseGone("unknown");
        if (cur.value.closed_at > 0) throw leaseGone(cur.value.released ? "released" : "expired");
        if (!leaseUsable(cur.value, t)) throw leaseGone("expired");
        if (t + o.ttlMs - cur.value.expires_at < rewriteAfterMs) return undefined;
        return { ...cur.value, expires_at: t + o.ttlMs };
      });
    },
    async release(leaseId) {
      const done = await casLease(leaseId, (cur) => (cur && cur.value.closed_at === 0 ? releaseLease(cur.value, now()) : undefined));
      if (done) {
        o.metrics.lease("released");
        log.info({ lease_id: leaseId }, "lease released");
      }
    },
    async closedAt(leaseId) {
      const l = await load(leaseId);
      if (!l) return 0;
      return l.value.closed_at > 0 ? l.value.closed_at : undefined;
    },
    async sweep(t) {
      for (const [leaseId, l] of [...o.cache.allLeases()]) {
        try {
          if (l.value.closed_at === 0 && l.value.expires_at <= t) {
            const expired = await casLease(leaseId, (cur) =>
              cur && cur.value.closed_at === 0 && cur.value.expires_at <= now() ? expireLease(cur.value) : undefined,
            );
            if (expired) {
              o.metrics.lease("expired");
              log.warn({ lease_id: leaseId, gateway_id: l.value.gateway_id }, "lease expired: its connections are closed");
            }
          } else if (l.value.closed_at > 0 && t - l.value.closed_at > keepClosedMs && o.cache.usersOfLease(leaseId).length === 0) {
            // The watch removes it from the cache (the delete marker carries no revision here).
            await o.kv.deleteLease(leaseId, l.revision);
            o.metrics.lease("deleted");
          }
        } catch (e: unknown) {
          // Another replica won the race (or NATS hiccuped): the next sweep looks again.
          if (!(e instanceof KvConflictError)) log.warn({ err: e, lease_id: leaseId }, "lease sweep failed");
        }
      }
    },
  };
}
