/**
 * How a user's status moves: pure functions over a draft StatusRecord, following
 * Mattermost's platform/status.go (SetStatusOnline, SetStatusAwayIfNeeded, SetStatusOffline,
 * SetStatusDoNotDisturbTimed, UpdateExpiredDNDStatuses), extended to many gateways:
 *
 * - automatic statuses follow connections: online while any connection is open, away after
 *   inactivity, offline a grace period after the last connection closed;
 * - a manual status (away, dnd, offline, ooo) wins over every automatic change, also while
 *   disconnected, until the user changes it ("online" makes the user automatic again) or a
 *   timed dnd ends, when the status before it returns.
 *
 * Every function mutates the draft it is given; the caller compares before and after.
 */
import { connectionCount, type StatusName, type StatusRecord } from "./status-record.js";

export interface Timing {
  readonly graceMs: number;
  readonly awayAfterMs: number;
  /** Activity that only moves last_activity_at is written at most this often. */
  readonly activityWriteIntervalMs: number;
  readonly republishAfterMs: number;
}

/** Most connections one user may hold across all gateways (bounds the record's size; SB_PRESENCE_MAX_CONNECTIONS_PER_USER). */
export const MAX_CONNECTIONS_PER_USER = 1024;

/** When a connected, automatic, online user goes away: the stored activity may lag by one write interval. */
function awayDeadline(r: StatusRecord, t: Timing): number {
  return r.last_activity_at + t.awayAfterMs + t.activityWriteIntervalMs;
}

function clearDnd(r: StatusRecord): void {
  r.dnd_end_time = 0;
  r.prev_status = "";
  r.prev_manual = false;
}

/** After connections went away at `at`: an automatic status goes offline after the grace. */
function afterClose(r: StatusRecord, at: number, t: Timing): void {
  if (connectionCount(r) > 0 || r.manual || r.status === "offline") return;
  r.offline_at = Math.max(r.offline_at, at + t.graceMs);
}

function touch(r: StatusRecord, at: number): void {
  if (at > r.last_activity_at) r.last_activity_at = at;
}

/** False when the user already holds `max` connections (and this is not one of them). */
export function canOpen(r: StatusRecord, lease: string, conn: string, max = MAX_CONNECTIONS_PER_USER): boolean {
  return r.conns[lease]?.includes(conn) === true || connectionCount(r) < Math.min(max, MAX_CONNECTIONS_PER_USER);
}

export function openConnection(r: StatusRecord, lease: string, conn: string, at: number, t: Timing): void {
  const list = (r.conns[lease] ??= []);
  if (list.includes(conn)) {
    recordActivity(r, at, true, false, at, t);
    return;
  }
  list.push(conn);
  r.offline_at = 0;
  touch(r, at);
  if (!r.manual) r.status = "online";
}

export function closeConnection(r: StatusRecord, lease: string, conn: string, at: number, t: Timing): void {
  const list = r.conns[lease];
  const i = list ? list.indexOf(conn) : -1;
  if (!list || i < 0) return;
  list.splice(i, 1);
  if (list.length === 0) delete r.conns[lease];
  afterClose(r, at, t);
}

/** Closes every connection of one lease (full snapshot, release, expiry) as of `closedAt`. */
export function closeLease(r: StatusRecord, lease: string, closedAt: number, t: Timing): void {
  if (!r.conns[lease]) return;
  delete r.conns[lease];
  afterClose(r, closedAt, t);
}

/** Mattermost's user_update_active_status and every other sign of activity. */
export function recordActivity(r: StatusRecord, at: number, active: boolean, manual: boolean, now: number, t: Timing): void {
  if (active && manual) {
    setStatus(r, "online", 0, at, t);
    return;
  }
  if (!active && manual) {
    setStatus(r, "away", 0, at, t);
    return;
  }
  if (!active) {
    // SetStatusAwayIfNeeded(manual=false): only once inactive for the away timeout.
    if (!r.manual && r.status === "online" && now >= awayDeadline(r, t)) r.status = "away";
    return;
  }
  const connected = connectionCount(r) > 0;
  if (!r.manual && connected && r.status !== "online") {
    r.status = "online";
    r.offline_at = 0;
    touch(r, at);
    return;
  }
  if (at - r.last_activity_at >= t.activityWriteIntervalMs) touch(r, at);
}

/** A status chosen by the user (SetStatus), or by the client on the user's behalf. */
export function setStatus(r: StatusRecord, status: StatusName, dndEndTimeSec: number, now: number, t: Timing): void {
  if (status === "online") {
    r.status = "online";
    r.manual = false;
    clearDnd(r);
    touch(r, now);
    r.offline_at = 0;
    afterClose(r, now, t);
    return;
  }
  if (status === "dnd") {
    if (dndEndTimeSec > 0) {
      if (r.status !== "dnd") {
        r.prev_status = r.status;
        r.prev_manual = r.manual;
      }
    } else {
      r.prev_status = "";
      r.prev_manual = false;
    }
    r.status = "dnd";
    r.manual = true;
    r.dnd_end_time = dndEndTimeSec;
    r.offline_at = 0;
    return;
  }
  r.status = status;
  r.manual = true;
  clearDnd(r);
  r.offline_at = 0;
}

/** The automatic status of a user right now. */
function automaticStatus(r: StatusRecord, now: number, t: Timing): StatusName {
  if (connectionCount(r) === 0) return "offline";
  return now >= awayDeadline(r, t) ? "away" : "online";
}

/**
 * Applies every deadline that has passed: connections of dead leases (closedAtOf returns
 * when the lease stopped, undefined while it lives), the offline grace, a timed dnd's end
 * and auto-away.
 */
export function applyDeadlines(r: StatusRecord, now: number, t: Timing, closedAtOf: (lease: string) => number | undefined): void {
  for (const lease of Object.keys(r.conns)) {
    const closedAt = closedAtOf(lease);
    if (closedAt !== undefined) closeLease(r, lease, closedAt, t);
  }
  const connected = connectionCount(r) > 0;
  if (r.offline_at > 0 && (connected || r.manual || r.status === "offline")) r.offline_at = 0;
  if (r.offline_at > 0 && r.offline_at <= now) {
    touch(r, r.offline_at - t.graceMs);
    r.status = "offline";
    r.offline_at = 0;
  }
  if (r.status === "dnd" && r.dnd_end_time > 0 && r.dnd_end_time * 1000 <= now) {
    const prev = r.prev_status;
    if (r.prev_manual && prev !== "" && prev !== "online" && prev !== "dnd") {
      r.status = prev;
      r.manual = true;
    } else {
      r.manual = false;
      r.status = automaticStatus(r, now, t);
    }
    clearDnd(r);
  }
  if (!r.manual && r.status === "online" && connected && now >= awayDeadline(r, t)) r.status = "away";
  if (!r.manual && r.status !== "offline" && !connected && r.offline_at === 0) afterClose(r, now, t);
}

/** The earliest time applyDeadlines may change this record (0 = never, by itself). */
export function nextDeadline(r: StatusRecord, t: Timing): number {
  let next = 0;
  const at = (v: number): void => {
    if (v > 0 && (next === 0 || v < next)) next = v;
  };
  at(r.offline_at);
  if (!r.manual && r.status === "online" && connectionCount(r) > 0) at(awayDeadline(r, t));
  if (r.status === "dnd" && r.dnd_end_time > 0) at(r.dnd_end_time * 1000);
  if (r.pending_event !== "") at(r.pending_since + t.republishAfterMs);
  return next;
}
