/**
 * A gateway's lease as stored in the KV bucket (key `lease.<id>`). A lease is open until one
 * compare-and-set closes it (released by the gateway, or expired and closed by a sweep), so
 * every replica agrees on whether its connections still count; the record stays a while
 * after closing so the connections' close time (and so the grace) is known everywhere. Its
 * shape is the bucket's contract (LeaseRecord in @switchboard/bus).
 */
import type { LeaseRecord } from "@switchboard/bus";
import { jsonBytes, parseJsonObject } from "@switchboard/model";

export type { LeaseRecord };

export function newLeaseRecord(gatewayId: string, now: number, ttlMs: number): LeaseRecord {
  return { gateway_id: gatewayId, created_at: now, expires_at: now + ttlMs, ttl_ms: ttlMs, closed_at: 0, released: false };
}

/** Open and not past its expiry: reports are accepted. */
export function leaseUsable(l: LeaseRecord, now: number): boolean {
  return l.closed_at === 0 && l.expires_at > now;
}

/** The close an expired lease gets: its connections count as closed at its last renewal. */
export function expireLease(l: LeaseRecord): LeaseRecord {
  return { ...l, closed_at: Math.max(1, l.expires_at - l.ttl_ms) };
}

export function releaseLease(l: LeaseRecord, now: number): LeaseRecord {
  return { ...l, closed_at: now, released: true, expires_at: Math.min(l.expires_at, now) };
}

export function encodeLease(l: LeaseRecord): Uint8Array {
  return jsonBytes(l);
}

export function decodeLease(bytes: Uint8Array): LeaseRecord {
  const v = parseJsonObject(bytes) as Partial<LeaseRecord>;
  if (typeof v !== "object" || v === null || typeof v.expires_at !== "number") throw new Error("not a lease record");
  return {
    gateway_id: String(v.gateway_id ?? ""),
    created_at: Number(v.created_at ?? 0),
    expires_at: v.expires_at,
    ttl_ms: Number(v.ttl_ms ?? 0),
    closed_at: Number(v.closed_at ?? 0),
    released: v.released === true,
  };
}
