/**
 * JetStream key-value buckets: name, key layout and what each key holds. Keys are NATS
 * subjects, so every id in a key is validated where the key is built (services/presence's
 * store for the presence bucket).
 */
import { bytes, json, type Payload } from "./payload.js";

export interface KvKeyContract<T> {
  /** The key is `prefix` + one validated id. */
  readonly prefix: string;
  readonly payload: Payload<T>;
}

export interface KvBucketContract {
  /** The default name (a deployment may choose another, e.g. SB_PRESENCE_KV_BUCKET). */
  readonly name: string;
  readonly keys: Readonly<Record<string, KvKeyContract<unknown>>>;
}

/** Mattermost statuses as presence stores them. */
export type PresenceStatus = "online" | "away" | "dnd" | "offline" | "ooo";

/** One user's presence (key `user.<user id>`): the Mattermost status plus everything the deadlines need. */
export interface StatusRecord {
  status: PresenceStatus;
  manual: boolean;
  /** Unix ms of the last activity stored (see activityWriteIntervalMs). */
  last_activity_at: number;
  /** Unix seconds after which a manual dnd reverts; 0 = none. */
  dnd_end_time: number;
  /** What a dnd reverts to, and whether that was manual. */
  prev_status: PresenceStatus | "";
  prev_manual: boolean;
  /** Open connections: lease id -> connection ids. */
  conns: Record<string, string[]>;
  /** Unix ms: go offline then if still without connections (the grace); 0 = none. */
  offline_at: number;
  /** The status_change of the latest change, until its writer confirms the publish; "" = none. */
  pending_event: string;
  /** Unix ms of that change. */
  pending_since: number;
}

/** A gateway's lease (key `lease.<lease id>`). */
export interface LeaseRecord {
  gateway_id: string;
  created_at: number;
  /** Unix ms: the lease lapses then unless renewed by a report. */
  expires_at: number;
  ttl_ms: number;
  /** Unix ms as of which its connections are closed; 0 = open. */
  closed_at: number;
  /** Closed by ReleaseLease (graceful), not by expiry. */
  released: boolean;
}

/**
 * The connections one client address holds across all gateways (key `ip.<hex of the address>`),
 * for the per-address connection limit: lease id -> connection ids. Entries of leases that are
 * no longer open are dropped by the next write to the record.
 */
export interface IpRecord {
  conns: Record<string, string[]>;
}

export const kvBuckets = {
  /** Presence: statuses and gateway leases, shared by every presence replica. */
  presence: {
    name: "sb_presence",
    keys: {
      user: { prefix: "user.", payload: json<StatusRecord>("StatusRecord") },
      lease: { prefix: "lease.", payload: json<LeaseRecord>("LeaseRecord") },
      ip: { prefix: "ip.", payload: json<IpRecord>("IpRecord") },
      /** A replica's liveness probe of its own watch. */
      probe: { prefix: "probe.", payload: bytes("a decimal nonce, ASCII") },
    },
  },
  /** Buckets of no component: tests of the KV layer itself. */
  scratch: {
    name: "sb_scratch",
    keys: { any: { prefix: "", payload: bytes("anything") } },
  },
} as const satisfies Record<string, KvBucketContract>;

const BUCKET_TAG = /^[a-z0-9_]{1,32}$/;

/**
 * A bucket of this layout under a name of its own (tests and benchmarks that share one NATS
 * server, each with its own state): `<name>_<tag>`.
 */
export function isolatedBucket(bucket: KvBucketContract, tag: string): string {
  if (!BUCKET_TAG.test(tag)) throw new Error(`invalid bucket tag: ${JSON.stringify(tag)}`);
  return `${bucket.name}_${tag}`;
}
