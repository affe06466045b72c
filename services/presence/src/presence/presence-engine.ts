/**
 * The presence domain: every change to a user goes through the writer (compare-and-set) and,
 * when it changed the status, through the publisher. Reports, manual statuses and deadline
 * sweeps are just different mutations.
 */
import type { Failpoints } from "@switchboard/lifecycle";
import type { PresenceMetrics } from "../metrics.js";
import { mapLimit } from "../util/map-limit.js";
import type { LeaseManager } from "./lease-manager.js";
import { groupReportEvents, type UserEvent } from "./report-events.js";
import type { StatusPublisher } from "./status-publisher.js";
import type { StatusName, StatusRecord } from "./status-record.js";
import { applyDeadlines, canOpen, closeConnection, closeLease, openConnection, recordActivity, setStatus, type Timing } from "./status-rules.js";
import type { Mutation, UserWrite, UserWriter } from "./user-writer.js";

/** Users of one report updated at once. */
const REPORT_CONCURRENCY = 32;

export interface PresenceEngine {
  readonly timing: Timing;
  changeUser(userId: string, mutate: Mutation): Promise<UserWrite>;
  /** Renews the lease (FAILED_PRECONDITION if it is gone, and then nothing changes) and applies the events. */
  applyReport(leaseId: string, events: Parameters<typeof groupReportEvents>[0], fullSnapshot: boolean): Promise<void>;
  setStatus(userId: string, status: StatusName, dndEndTimeSec: number): Promise<StatusRecord>;
  /** Applies whatever deadlines of the user have passed; publishes an unconfirmed change. */
  sweepUser(userId: string): Promise<void>;
}

export function createPresenceEngine(o: {
  writer: UserWriter;
  publisher: StatusPublisher;
  leases: LeaseManager;
  usersOfLease: (leaseId: string) => readonly string[];
  timing: Timing;
  metrics: PresenceMetrics;
  /** Test-only crash points (SB_FAILPOINTS). */
  failpoints?: Failpoints;
  now?: () => number;
}): PresenceEngine {
  const now = o.now ?? Date.now;
  const t = o.timing;

  async function changeUser(userId: string, mutate: Mutation): Promise<UserWrite> {
    const w = await o.writer.write(userId, mutate);
    if (w.event) {
      // A crash here leaves the change written but unpublished: a sweep publishes it later.
      o.failpoints?.hit("presence-after-status-write");
      await o.publisher.afterChange(userId, w);
    }
    return w;
  }

  async function applyUserEvents(userId: string, leaseId: string, events: readonly UserEvent[], reset: boolean): Promise<void> {
    let rejected = 0;
    await changeUser(userId, (d, at) => {
      rejected = 0;
      if (reset) closeLease(d, leaseId, at, t);
      for (const e of events) {
        if (e.kind === "opened") {
          if (canOpen(d, leaseId, e.connectionId)) openConnection(d, leaseId, e.connectionId, e.at, t);
          else rejected++;
        } else if (e.kind === "closed") {
          closeConnection(d, leaseId, e.connectionId, e.at, t);
        } else {
          recordActivity(d, e.at, e.active, e.manual, at, t);
        }
      }
    });
    if (rejected > 0) o.metrics.connectionRejected(rejected);
  }

  return {
    timing: t,
    changeUser,
    async applyReport(leaseId, events, fullSnapshot) {
      const byUser = groupReportEvents(events, now(), o.leases.ttlMs);
      await o.leases.renew(leaseId);
      if (fullSnapshot) for (const u of o.usersOfLease(leaseId)) if (!byUser.has(u)) byUser.set(u, []);
      for (const list of byUser.values()) for (const e of list) o.metrics.reportEvent(e.kind);
      await mapLimit([...byUser], REPORT_CONCURRENCY, ([userId, list]) => applyUserEvents(userId, leaseId, list, fullSnapshot));
    },
    async setStatus(userId, status, dndEndTimeSec) {
      const w = await changeUser(userId, (d, at) => setStatus(d, status, dndEndTimeSec, at, t));
      return w.record;
    },
    async sweepUser(userId) {
      const w = await changeUser(userId, async (d, at) => {
        const closed = new Map<string, number | undefined>();
        for (const lease of Object.keys(d.conns)) closed.set(lease, await o.leases.closedAt(lease));
        applyDeadlines(d, at, t, (lease) => closed.get(lease));
      });
      const r = w.record;
      if (!w.event && r.pending_event !== "" && r.pending_since + t.republishAfterMs <= now()) await o.publisher.republish(userId, r);
    },
  };
}
