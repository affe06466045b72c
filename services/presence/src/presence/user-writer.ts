/**
 * The one way a user's record changes: read (cache first), apply a pure mutation to a copy,
 * compare-and-set at the revision read, and on a conflict re-read from KV and apply the
 * mutation again. Replicas racing on one user therefore serialize through revisions, and a
 * status change is written by exactly one of them, which gets the event to publish.
 */
import { EventName, KvConflictError } from "@switchboard/bus";
import { newEvent } from "@switchboard/model";
import type { Event } from "@switchboard/proto/events";
import { contended } from "../errors.js";
import type { PresenceMetrics } from "../metrics.js";
import type { PresenceCache } from "../store/presence-cache.js";
import type { PresenceKv, Versioned } from "../store/presence-kv.js";
import { cloneRecord, emptyRecord, type StatusName, type StatusRecord } from "./status-record.js";

export type Mutation = (draft: StatusRecord, now: number) => void | Promise<void>;

export interface UserWrite {
  readonly record: StatusRecord;
  readonly revision: number;
  /** False when the mutation changed nothing (no write happened). */
  readonly wrote: boolean;
  /** The status_change this write owes, when it changed the status. */
  readonly event?: Event;
}

export interface UserWriter {
  write(userId: string, mutate: Mutation): Promise<UserWrite>;
}

const MAX_ATTEMPTS = 25;

/** The status_change envelope for one user (Mattermost's BroadcastStatus). */
export function statusChangeEvent(userId: string, status: StatusName, atMs: number, recipient = userId, changeId?: string): Event {
  return newEvent({
    event: EventName.StatusChange,
    data: { status, user_id: userId },
    broadcast: { userId: recipient },
    originTimeMs: atMs,
    ...(changeId ? { changeId } : {}),
  });
}

export function createUserWriter(o: { kv: PresenceKv; cache: PresenceCache; metrics: PresenceMetrics; now?: () => number }): UserWriter {
  const now = o.now ?? Date.now;
  return {
    async write(userId, mutate) {
      let current: Versioned<StatusRecord> | null = o.cache.user(userId) ?? null;
      for (let attempt = 1; ; attempt++) {
        const base = current?.value ?? emptyRecord();
        const draft = cloneRecord(base);
        const t = now();
        await mutate(draft, t);
        let event: Event | undefined;
        if (draft.status !== base.status) {
          event = statusChangeEvent(userId, draft.status, t);
          draft.pending_event = event.id;
          draft.pending_since = t;
        }
        if (!event && JSON.stringify(draft) === JSON.stringify(base)) {
          return { record: base, revision: current?.revision ?? 0, wrote: false };
        }
        try {
          const revision = await o.kv.writeUser(userId, draft, current?.revision ?? 0);
          o.cache.applyUser(userId, draft, revision);
          if (event) o.metrics.statusChanged(draft.status);
          return { record: draft, revision, wrote: true, ...(event ? { event } : {}) };
        } catch (e: unknown) {
          if (!(e instanceof KvConflictError)) throw e;
          if (attempt >= MAX_ATTEMPTS) throw contended(`user ${userId}`);
          current = await o.kv.getUser(userId);
          if (current) o.cache.applyUser(userId, current.value, current.revision);
          // Many writers on one key: spread the retries out a little.
          if (attempt > 3) await new Promise((r) => setTimeout(r, Math.random() * attempt * 2));
        }
      }
    },
  };
}
