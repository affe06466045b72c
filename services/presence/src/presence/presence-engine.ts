/**
 * The presence domain: every change to a user goes through the writer (compare-and-set) and,
 * when it changed the status, through the publisher. Reports, manual statuses and deadline
 * sweeps are just different mutations.
 */
import type { Failpoints } from "@switchboard/lifecycle";
import type { PresenceMetrics } from "../metrics.js";
import { mapLimit } from "../util/map-limit.js";
import type { LeaseManager } from "./lease-manager.js";
import type { IpWriter } from "./ip-writer.js";
import { groupByAddress, groupReportEvents, type UserEvent } from "./report-events.js";
import type { StatusPublisher } from "./status-publisher.js";
import type { StatusName, StatusRecord } from "./status-record.js";
import { applyDeadlines, canOpen, closeConnection, closeLease, openConnection, recordActivity, setStatus, type Timing } from "./status-rules.js";
import type { Mutation, UserWrite, UserWriter } from "./user-writer.js";

/** Users of one report updated at once. */
const REPORT_CONCURRENCY = 32;

/** Why an opened connection was refused (ReportResponse.refused). */
type RefusalReason = "user_limit" | "ip_limit";

export interface PresenceEngine {
  readonly timing: Timing;
  changeUser(userId: string, mutate: Mutation): Promise<UserWrite>;
  /**
   * Renews the lease (FAILED_PRECONDITION if it is gone, and then nothing changes) and applies
   * the events. Resolves with the opened connections refused by a connection limit.
   */
  applyReport(leaseId: string, events: Parameters<typeof groupReportEvents>[0], fullSnapshot: boolean): Promise<Map<string, RefusalReason>>;
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
  /** Connections one user may hold across all gateways. */
  maxPerUser: number;
  /** The per-address limit (absent: none). */
  ipWriter?: IpWriter;
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

  /** Applies one user's events; the opened connections it refuses go into `refused`. */
  async function applyUserEvents(
    userId: string,
    leaseId: string,
    events: readonly UserEvent[],
    reset: boolean,
    refused: Map<string, RefusalReason>,
  ): Promise<void> {
    const mine: Extract<UserEvent, { kind: "opened" }>[] = [];
    await changeUser(userId, (d, at) => {
      mine.length = 0;
      if (reset) closeLease(d, leaseId, at, t);
      for (const e of events) {
        if (e.kind === "opened") {
          if (refused.has(e.connectionId)) continue;
          if (canOpen(d, leaseId, e.connectionId, o.maxPerUser)) openConnection(d, leaseId, e.connectionId, e.at, t);
          else mine.push(e);
        } else if (e.kind === "closed") {
          closeConnection(d, leaseId, e.connectionId, e.at, t);
        } else {
          recordActivity(d, e.at, e.active, e.manual, at, t);
        }
      }
    });
    if (mine.length === 0) return;
    o.metrics.connectionRejected("user_limit", mine.length);
    for (const e of mine) refused.set(e.connectionId, "user_limit");
    // Counted for its address already: taken back there.
    const ipWriter = o.ipWriter;
    if (!ipWriter) return;
    for (const e of mine) if (e.clientIp !== "") await ipWriter.apply(e.clientIp, leaseId, [{ kind: "closed", connectionId: e.connectionId }], false);
  }

  return {
    timing: t,
    changeUser,
    async applyReport(leaseId, events, fullSnapshot) {
      const byUser = groupReportEvents(events, now(), o.leases.ttlMs);
      await o.leases.renew(leaseId);
      if (fullSnapshot) for (const u of o.usersOfLease(leaseId)) if (!byUser.has(u)) byUser.set(u, []);
      for (const list of byUser.values()) for (const e of list) o.metrics.reportEvent(e.kind);
      const refused = new Map<string, RefusalReason>();
      const ipWriter = o.ipWriter;
      if (ipWriter) {
        // Addresses first: a connection refused there never opens for its user (no status flicker).
        await mapLimit([...groupByAddress(events)], REPORT_CONCURRENCY, async ([ip, list]) => {
          const r = await ipWriter.apply(ip, leaseId, list, fullSnapshot);
          if (r.size > 0) o.metrics.connectionRejected("ip_limit", r.size);
          for (const id of r) refused.set(id, "ip_limit");
        });
      }
      await mapLimit([...byUser], REPORT_CONCURRENCY, ([userId, list]) => applyUserEvents(userId, leaseId, list, fullSnapshot, refused));
      return refused;
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
