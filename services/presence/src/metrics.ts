/** Every metric the presence service emits; call sites use these helpers, never raw metrics. */
import type { MetricsRegistry } from "@switchboard/metrics";

export type KvOp = "get" | "create" | "update" | "delete" | "put";
export type PublishKind = "status" | "partner" | "correction" | "republish";

export interface PresenceGauges {
  activeLeases(): number;
  cachedUsers(): number;
  activeUsers(): number;
}

export function createPresenceMetrics(registry: MetricsRegistry) {
  const statusChanges = registry.counter({
    name: "sb_presence_status_changes_total",
    help: "status changes written (each by exactly one replica), by new status",
    labelNames: ["status"],
  });
  const kvSeconds = registry.histogram({
    name: "sb_presence_kv_operation_seconds",
    help: "JetStream KV operation latency",
    labelNames: ["op"],
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2],
  });
  const kvConflicts = registry.counter({
    name: "sb_presence_kv_cas_conflicts_total",
    help: "compare-and-set writes that lost to another writer (then re-read and retried)",
    labelNames: ["op"],
  });
  const published = registry.counter({ name: "sb_presence_events_published_total", help: "status_change events published", labelNames: ["kind"] });
  const publishFailures = registry.counter({
    name: "sb_presence_event_publish_failures_total",
    help: "status_change publishes that failed (primary ones are retried by a sweep)",
    labelNames: ["kind"],
  });
  const partnerLookupFailures = registry.counter({
    name: "sb_presence_partner_lookup_failures_total",
    help: "ListDirectPartners calls that failed (the extra pushes were skipped)",
  });
  const reportEvents = registry.counter({ name: "sb_presence_report_events_total", help: "connection events applied", labelNames: ["kind"] });
  const leaseOps = registry.counter({ name: "sb_presence_lease_operations_total", help: "leases acquired, released and expired", labelNames: ["op"] });
  const rejectedConnections = registry.counter({
    name: "sb_presence_rejected_connections_total",
    help: "opened connections refused by a connection limit, by limit (user_limit, ip_limit)",
    labelNames: ["reason"],
  });
  const watchLag = registry.histogram({
    name: "sb_presence_watch_lag_seconds",
    help: "time from a KV write to its arrival through this replica's watch (probe)",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
  });
  const watchRestarts = registry.counter({ name: "sb_presence_watch_restarts_total", help: "KV watches restarted after a failed probe" });
  const sweepSeconds = registry.histogram({ name: "sb_presence_sweep_seconds", help: "duration of one deadline sweep" });
  const sweepErrors = registry.counter({ name: "sb_presence_sweep_errors_total", help: "deadline updates that failed (retried next sweep)" });

  return {
    statusChanged: (status: string) => statusChanges.inc({ status }),
    kvTimer: (op: KvOp) => kvSeconds.startTimer({ op }),
    kvConflict: (op: KvOp) => kvConflicts.inc({ op }),
    published: (kind: PublishKind, n = 1) => published.inc({ kind }, n),
    publishFailed: (kind: PublishKind) => publishFailures.inc({ kind }),
    partnerLookupFailed: () => partnerLookupFailures.inc(),
    reportEvent: (kind: "opened" | "closed" | "activity") => reportEvents.inc({ kind }),
    lease: (op: "acquired" | "released" | "expired" | "deleted") => leaseOps.inc({ op }),
    connectionRejected: (reason: "user_limit" | "ip_limit", n = 1) => rejectedConnections.inc({ reason }, n),
    watchLag: (seconds: number) => watchLag.observe(seconds),
    watchRestarted: () => watchRestarts.inc(),
    sweepTimer: () => sweepSeconds.startTimer(),
    sweepError: () => sweepErrors.inc(),
    /** Gauges read at scrape time from the live state. */
    registerGauges(g: PresenceGauges): void {
      registry.gauge({ name: "sb_presence_active_leases", help: "open gateway leases", collect: () => g.activeLeases() });
      registry.gauge({ name: "sb_presence_cached_users", help: "user statuses in this replica's cache", collect: () => g.cachedUsers() });
      registry.gauge({ name: "sb_presence_active_users", help: "users whose status is not offline", collect: () => g.activeUsers() });
    },
  };
}

export type PresenceMetrics = ReturnType<typeof createPresenceMetrics>;
