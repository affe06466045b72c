/**
 * This replica's copy of the whole presence bucket, kept current by a KV watch (and by this
 * replica's own writes, applied at once). Reads are answered from here without a round trip:
 * each user's Status is encoded once per change and found by the id's bytes, so a read of
 * many ids is one buffer of copied bytes (id-index.ts, status-encoding.ts).
 *
 * It also indexes what the sweeper needs: users by lease, the next deadline of every user,
 * and the set of users whose status is not offline.
 */
import type { KvEntry } from "@switchboard/bus";
import { decodeLease, type LeaseRecord } from "../presence/lease-record.js";
import { decodeRecord, type StatusRecord } from "../presence/status-record.js";
import { nextDeadline, type Timing } from "../presence/status-rules.js";
import { DeadlineQueue } from "./deadline-queue.js";
import { parseKey, type Versioned } from "./presence-kv.js";
import { IdIndex, packIds, type PackedIds } from "./id-index.js";
import { encodeStatus, encodeStatusList, StatusListWriter, toStatusMessage } from "./status-encoding.js";

interface CachedUser {
  readonly record: StatusRecord;
  readonly revision: number;
}

/** Due "at once" in the deadline queue. */
const NOW = 1;

export class PresenceCache {
  private readonly users = new Map<string, CachedUser>();
  /** Every cached user's Status in wire form, by id bytes. */
  private readonly encoded = new IdIndex<Uint8Array>();
  private readonly leases = new Map<string, Versioned<LeaseRecord>>();
  private readonly usersByLease = new Map<string, Set<string>>();
  private readonly activeUsers = new Set<string>();
  readonly deadlines = new DeadlineQueue();
  private watchRevision = 0;
  private readonly revisionWaiters: { revision: number; resolve: () => void }[] = [];

  constructor(
    private readonly timing: Timing,
    private readonly onUndecodable: (key: string, err: unknown) => void,
  ) {}

  // --- reads (hot path) ---------------------------------------------------------------

  /**
   * A message whose field 1 is one Status per id, in order; unknown users are offline. Ids
   * must be valid; their bytes must stay unchanged until the answer is sent (a request's do).
   */
  statuses(ids: PackedIds): StatusListWriter {
    return new StatusListWriter(ids, this.encoded);
  }

  /** As statuses(), for ids as strings, in a buffer of its own. */
  encodeStatuses(userIds: readonly string[]): Buffer {
    return encodeStatusList(packIds(userIds), this.encoded);
  }

  /** A message whose field 1 is every Status that is not offline. */
  encodeActiveStatuses(): Buffer {
    return encodeStatusList(packIds([...this.activeUsers]), this.encoded);
  }

  // --- state for writers and the sweeper --------------------------------------------------

  user(userId: string): Versioned<StatusRecord> | undefined {
    const u = this.users.get(userId);
    return u ? { value: u.record, revision: u.revision } : undefined;
  }

  lease(leaseId: string): Versioned<LeaseRecord> | undefined {
    return this.leases.get(leaseId);
  }

  allLeases(): IterableIterator<[string, Versioned<LeaseRecord>]> {
    return this.leases.entries();
  }

  usersOfLease(leaseId: string): readonly string[] {
    const s = this.usersByLease.get(leaseId);
    return s ? [...s] : [];
  }

  get userCount(): number {
    return this.users.size;
  }
  get activeCount(): number {
    return this.activeUsers.size;
  }
  get openLeaseCount(): number {
    let n = 0;
    for (const l of this.leases.values()) if (l.value.closed_at === 0) n++;
    return n;
  }

  // --- applying changes ---------------------------------------------------------------------

  /** An entry from the watch. */
  applyEntry(e: KvEntry): void {
    const k = parseKey(e.key);
    if (k) {
      // This replica's own writes are in the cache already, at this revision: no need to decode
      // what the watch brings back of them.
      const known = (old: { revision: number } | undefined): boolean => old !== undefined && old.revision >= e.revision;
      try {
        if (k.kind === "user") {
          if (e.op !== "put") this.removeUser(k.id, e.revision);
          else if (!known(this.users.get(k.id))) this.applyUser(k.id, decodeRecord(e.value), e.revision);
        } else if (k.kind === "lease" && !known(this.leases.get(k.id))) {
          this.applyLease(k.id, e.op === "put" ? decodeLease(e.value) : null, e.revision);
        }
      } catch (err: unknown) {
        this.onUndecodable(e.key, err);
      }
    }
    if (e.revision > this.watchRevision) {
      this.watchRevision = e.revision;
      this.releaseWaiters();
    }
  }

  /** A user record at a revision (from the watch, a write of ours, or a fresh read). */
  applyUser(userId: string, record: StatusRecord, revision: number): void {
    const old = this.users.get(userId);
    if (old && old.revision >= revision) return;
    if (old) for (const lease in old.record.conns) if (!(lease in record.conns)) this.unindex(lease, userId);
    for (const lease in record.conns) {
      let s = this.usersByLease.get(lease);
      if (!s) this.usersByLease.set(lease, (s = new Set()));
      s.add(userId);
    }
    this.users.set(userId, { record, revision });
    this.encoded.set(userId, encodeStatus(toStatusMessage(userId, record)));
    if (record.status === "offline") this.activeUsers.delete(userId);
    else this.activeUsers.add(userId);
    this.reschedule(userId);
  }

  /** Recomputes a user's next deadline (after a sweep that changed nothing, for instance). */
  reschedule(userId: string): void {
    const u = this.users.get(userId);
    if (!u) {
      this.deadlines.schedule(userId, 0);
      return;
    }
    let at = nextDeadline(u.record, this.timing);
    for (const lease in u.record.conns) {
      const l = this.leases.get(lease);
      if (!l || l.value.closed_at > 0) at = NOW;
    }
    this.deadlines.schedule(userId, at);
  }

  private removeUser(userId: string, revision: number): void {
    const old = this.users.get(userId);
    if (!old || old.revision >= revision) return;
    for (const lease in old.record.conns) this.unindex(lease, userId);
    this.users.delete(userId);
    this.encoded.delete(userId);
    this.activeUsers.delete(userId);
    this.deadlines.schedule(userId, 0);
  }

  private unindex(lease: string, userId: string): void {
    const s = this.usersByLease.get(lease);
    if (!s) return;
    s.delete(userId);
    if (s.size === 0) this.usersByLease.delete(lease);
  }

  /** A lease record at a revision; null = deleted. Closing a lease makes its users due. */
  applyLease(leaseId: string, record: LeaseRecord | null, revision: number): void {
    const old = this.leases.get(leaseId);
    if (old && old.revision >= revision) return;
    if (record) this.leases.set(leaseId, { value: record, revision });
    else this.leases.delete(leaseId);
    if (!record || record.closed_at > 0) for (const u of this.usersOfLease(leaseId)) this.deadlines.schedule(u, NOW);
  }

  // --- watch progress -----------------------------------------------------------------------

  /** Resolves once the watch delivered everything up to `revision`. */
  waitForRevision(revision: number): Promise<void> {
    if (this.watchRevision >= revision) return Promise.resolve();
    return new Promise((resolve) => this.revisionWaiters.push({ revision, resolve }));
  }

  private releaseWaiters(): void {
    for (let i = this.revisionWaiters.length - 1; i >= 0; i--) {
      const w = this.revisionWaiters[i]!;
      if (w.revision <= this.watchRevision) {
        this.revisionWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}
