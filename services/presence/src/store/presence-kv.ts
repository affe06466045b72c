/**
 * The presence bucket: typed, timed access. Its key layout is the bucket's contract
 * (kvBuckets.presence in @switchboard/bus); keys are built only here, from validated ids, so
 * no caller can inject `*`, `>` or `.` into a key (keys are NATS subjects).
 *
 *   user.<userId>    StatusRecord (JSON)
 *   lease.<leaseId>  LeaseRecord (JSON)
 *   probe.<replica>  liveness probe of one replica's watch
 *   ip.<hex>         IpRecord (JSON): the connections of one client address (hex of its text)
 */
import { KvConflictError, kvBuckets, type IpRecord, type KvEntry, type KvStore, type KvWatch } from "@switchboard/bus";
import { isValidId, jsonBytes, parseJsonObject } from "@switchboard/model";
import type { KvOp, PresenceMetrics } from "../metrics.js";
import { decodeLease, encodeLease, type LeaseRecord } from "../presence/lease-record.js";
import { decodeRecord, encodeRecord, type StatusRecord } from "../presence/status-record.js";

const {
  user: { prefix: USER },
  lease: { prefix: LEASE },
  probe: { prefix: PROBE },
  ip: { prefix: IP },
} = kvBuckets.presence.keys;

function key(prefix: string, id: string): string {
  if (!isValidId(id)) throw new Error(`invalid id for a presence key`);
  return prefix + id;
}

/** The key of a client address's record: its text in hex, so no character of it reaches the subject. */
const ipKey = (clientIp: string): string => {
  if (clientIp === "" || clientIp.length > 64) throw new Error(`invalid client address for a presence key`);
  return IP + Buffer.from(clientIp, "latin1").toString("hex");
};

/** The key of a user's record (tests and tools read records directly). */
export const userKey = (userId: string): string => key(USER, userId);

export type ParsedKey = { kind: "user" | "lease" | "probe"; id: string } | undefined;

export function parseKey(k: string): ParsedKey {
  const dot = k.indexOf(".");
  const id = k.slice(dot + 1);
  if (dot < 0 || !isValidId(id)) return undefined;
  switch (k.slice(0, dot + 1)) {
    case USER:
      return { kind: "user", id };
    case LEASE:
      return { kind: "lease", id };
    case PROBE:
      return { kind: "probe", id };
    default:
      return undefined;
  }
}

export interface Versioned<T> {
  readonly value: T;
  readonly revision: number;
}

export interface PresenceKv {
  getUser(userId: string): Promise<Versioned<StatusRecord> | null>;
  /** revision 0 creates; throws KvConflictError when someone wrote first. */
  writeUser(userId: string, r: StatusRecord, revision: number): Promise<number>;
  getLease(leaseId: string): Promise<Versioned<LeaseRecord> | null>;
  writeLease(leaseId: string, l: LeaseRecord, revision: number): Promise<number>;
  deleteLease(leaseId: string, revision: number): Promise<void>;
  getIp(clientIp: string): Promise<Versioned<IpRecord> | null>;
  /** revision 0 creates; throws KvConflictError when someone wrote first. */
  writeIp(clientIp: string, r: IpRecord, revision: number): Promise<number>;
  /** Deletes an empty record if still at `revision` (KvConflictError otherwise). */
  deleteIp(clientIp: string, revision: number): Promise<void>;
  /** The bucket's latest revision (a read barrier: the cache has every write before it once it reached it). */
  lastRevision(): Promise<number>;
  putProbe(replicaId: string, nonce: number): Promise<number>;
  deleteProbe(replicaId: string): Promise<void>;
  watch(onEntry: (e: KvEntry) => void): Promise<KvWatch>;
}

export function createPresenceKv(kv: KvStore, metrics: PresenceMetrics): PresenceKv {
  async function timed<T>(op: KvOp, f: () => Promise<T>): Promise<T> {
    const end = metrics.kvTimer(op);
    try {
      return await f();
    } catch (e: unknown) {
      if (e instanceof KvConflictError) metrics.kvConflict(op);
      throw e;
    } finally {
      end();
    }
  }
  const write = (k: string, bytes: Uint8Array, revision: number): Promise<number> =>
    revision === 0 ? timed("create", () => kv.create(k, bytes)) : timed("update", () => kv.update(k, bytes, revision));

  return {
    async getUser(userId) {
      const e = await timed("get", () => kv.get(userKey(userId)));
      return e ? { value: decodeRecord(e.value), revision: e.revision } : null;
    },
    writeUser: (userId, r, revision) => write(userKey(userId), encodeRecord(r), revision),
    async getLease(leaseId) {
      const e = await timed("get", () => kv.get(key(LEASE, leaseId)));
      return e ? { value: decodeLease(e.value), revision: e.revision } : null;
    },
    writeLease: (leaseId, l, revision) => write(key(LEASE, leaseId), encodeLease(l), revision),
    deleteLease: (leaseId, revision) => timed("delete", () => kv.delete(key(LEASE, leaseId), revision)),
    async getIp(clientIp) {
      const e = await timed("get", () => kv.get(ipKey(clientIp)));
      return e ? { value: decodeIpRecord(e.value), revision: e.revision } : null;
    },
    writeIp: (clientIp, r, revision) => write(ipKey(clientIp), jsonBytes(r), revision),
    deleteIp: (clientIp, revision) => timed("delete", () => kv.delete(ipKey(clientIp), revision)),
    lastRevision: () => timed("get", () => kv.lastRevision()),
    putProbe: (replicaId, nonce) => timed("put", () => kv.put(key(PROBE, replicaId), new TextEncoder().encode(String(nonce)))),
    deleteProbe: (replicaId) => timed("delete", () => kv.delete(key(PROBE, replicaId))),
    watch: (onEntry) => kv.watch({ key: ">", onEntry }),
  };
}

/** Tolerant: anything that is not a list of connection ids per lease is dropped. */
function decodeIpRecord(bytes: Uint8Array): IpRecord {
  const v = parseJsonObject(bytes) as Partial<IpRecord>;
  const conns: Record<string, string[]> = {};
  if (v && typeof v.conns === "object" && v.conns !== null) {
    for (const [lease, ids] of Object.entries(v.conns)) if (Array.isArray(ids) && ids.length > 0) conns[lease] = ids.map(String);
  }
  return { conns };
}
