/**
 * JetStream key-value buckets behind a small interface: compare-and-set by revision, so
 * several replicas can share state without disagreeing.
 */
import { JetStreamApiCodes } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { natsConnectionOf, type Bus } from "./bus.js";
import { isJsApiError } from "./streams.js";

export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array;
  readonly revision: number;
  /** "put", or "delete" for tombstones seen by watchers. */
  readonly op: "put" | "delete";
}

/** A compare-and-set lost: somebody else wrote the key first. Re-read and retry. */
export class KvConflictError extends Error {
  override readonly name = "KvConflictError";
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`kv conflict on ${key}`, options);
  }
}

export interface KvWatch {
  stop(): void;
}

export interface KvStore {
  readonly bucket: string;
  get(key: string): Promise<KvEntry | null>;
  /** Creates the key; throws KvConflictError if it exists. Returns the new revision. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Writes only if the key is still at `revision`; throws KvConflictError otherwise. */
  update(key: string, value: Uint8Array, revision: number): Promise<number>;
  put(key: string, value: Uint8Array): Promise<number>;
  /** Deletes; with `revision`, only if unchanged (throws KvConflictError otherwise). */
  delete(key: string, revision?: number): Promise<void>;
  keys(filter?: string): Promise<string[]>;
  /** The bucket's latest revision (its stream's last sequence), from the stream's leader. */
  lastRevision(): Promise<number>;
  /** Current values then live changes of keys matching the filter (`>` wildcards allowed). */
  watch(o: { key?: string; onEntry: (e: KvEntry) => void; includeHistory?: boolean }): Promise<KvWatch>;
}

export interface KvBucketOptions {
  readonly bucket: string;
  readonly history?: number;
  readonly storage?: "file" | "memory";
  readonly replicas?: number;
  /** Entries expire this long after their last write (0 = never). */
  readonly ttlMs?: number;
}

/** A revision check failed: the stream's "wrong last sequence" (10071), or its form for a subject it has not seen (10164). */
function isConflict(e: unknown): boolean {
  return isJsApiError(e, JetStreamApiCodes.StreamWrongLastSequence) || isJsApiError(e, JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

/** How a bucket is replicated (it must exist). */
export async function kvBucketState(bus: Bus, bucket: string): Promise<{ replicas: number; values: number }> {
  const status = await (await new Kvm(natsConnectionOf(bus)).open(bucket)).status();
  return { replicas: status.replicas, values: status.values };
}

/** How long openKv waits for a replicated bucket's leader. */
const LEADER_WAIT_MS = 15_000;

export async function openKv(bus: Bus, o: KvBucketOptions): Promise<KvStore> {
  const kvm = new Kvm(natsConnectionOf(bus));
  const kv: KV = await kvm.create(o.bucket, {
    history: o.history ?? 1,
    storage: o.storage === "memory" ? "memory" : "file",
    replicas: o.replicas ?? 1,
    ...(o.ttlMs ? { ttl: o.ttlMs } : {}),
  } as never);
  // A replicated bucket is usable once its stream has elected a leader: on a NATS cluster the
  // create answers before that, and a write in between finds no responders.
  for (const end = Date.now() + LEADER_WAIT_MS; ;) {
    const { streamInfo } = await kv.status();
    if (!streamInfo.cluster || streamInfo.config.num_replicas <= 1 || streamInfo.cluster.leader) break;
    if (Date.now() > end) throw new Error(`KV bucket ${o.bucket} has no leader after ${LEADER_WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const cas = async <T>(key: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e: unknown) {
      if (isConflict(e)) throw new KvConflictError(key, { cause: e });
      throw e;
    }
  };
  return {
    bucket: o.bucket,
    async get(key) {
      const e = await kv.get(key);
      if (!e || e.operation !== "PUT") return null;
      return { key: e.key, value: e.value, revision: e.revision, op: "put" };
    },
    create: (key, value) => cas(key, () => kv.create(key, value)),
    update: (key, value, revision) => cas(key, () => kv.update(key, value, revision)),
    put: (key, value) => kv.put(key, value),
    delete: (key, revision) => cas(key, () => kv.delete(key, revision !== undefined ? { previousSeq: revision } : {})),
    async lastRevision() {
      const { streamInfo } = await kv.status();
      return streamInfo.state.last_seq;
    },
    async keys(filter) {
      const out: string[] = [];
      for await (const k of await kv.keys(filter ?? ">")) out.push(k);
      return out;
    },
    async watch(w) {
      const it = await kv.watch({ key: w.key ?? ">", ...(w.includeHistory ? { include: "history" as never } : {}) });
      void (async () => {
        for await (const e of it) {
          w.onEntry({ key: e.key, value: e.value, revision: e.revision, op: e.operation === "PUT" ? "put" : "delete" });
        }
      })();
      return { stop: () => it.stop() };
    },
  };
}
