import { describe, expect, it } from "vitest";
import { emptyRecord, type StatusRecord } from "./status-record.js";
import {
  applyDeadlines,
  canOpen,
  closeConnection,
  closeLease,
  MAX_CONNECTIONS_PER_USER,
  nextDeadline,
  openConnection,
  recordActivity,
  setStatus,
  type Timing,
} from "./status-rules.js";

const t: Timing = { graceMs: 300, awayAfterMs: 1_000, activityWriteIntervalMs: 0, republishAfterMs: 5_000 };
const L1 = "l".repeat(26);
const L2 = "m".repeat(26);
const alive = (): undefined => undefined;

function connected(at = 1_000): StatusRecord {
  const r = emptyRecord();
  openConnection(r, L1, "c1", at, t);
  return r;
}

describe("connections", () => {
  it("is online while any connection is open and goes offline one grace after the last closes", () => {
    const r = connected(1_000);
    openConnection(r, L2, "c2", 1_100, t);
    expect(r.status).toBe("online");
    closeConnection(r, L1, "c1", 1_200, t);
    expect(r.offline_at).toBe(0);
    closeConnection(r, L2, "c2", 1_300, t);
    expect(r.status).toBe("online");
    expect(r.offline_at).toBe(1_600);
    expect(nextDeadline(r, t)).toBe(1_600);
    applyDeadlines(r, 1_599, t, alive);
    expect(r.status).toBe("online");
    applyDeadlines(r, 1_600, t, alive);
    expect(r.status).toBe("offline");
    expect(r.offline_at).toBe(0);
    expect(r.last_activity_at).toBe(1_300);
    expect(nextDeadline(r, t)).toBe(0);
  });

  it("a reconnect inside the grace cancels it without any status change", () => {
    const r = connected(1_000);
    closeConnection(r, L1, "c1", 1_200, t);
    openConnection(r, L2, "c9", 1_300, t);
    expect(r.offline_at).toBe(0);
    applyDeadlines(r, 1_600, t, alive);
    expect(r.status).toBe("online");
  });

  it("closing an unknown connection or one of another lease changes nothing", () => {
    const r = connected();
    const before = JSON.stringify(r);
    closeConnection(r, L2, "c1", 2_000, t);
    closeConnection(r, L1, "nope", 2_000, t);
    expect(JSON.stringify(r)).toBe(before);
  });

  it("closes the connections of a closed lease as of its close time", () => {
    const crashed = connected(1_000);
    applyDeadlines(crashed, 5_000, t, (l) => (l === L1 ? 1_000 : undefined));
    expect(crashed.status).toBe("offline");
    expect(crashed.conns).toEqual({});

    const released = connected(1_000);
    applyDeadlines(released, 5_000, t, () => 4_900);
    expect(released.status).toBe("online");
    expect(released.offline_at).toBe(5_200);

    const elsewhere = connected(1_000);
    openConnection(elsewhere, L2, "c2", 1_000, t);
    applyDeadlines(elsewhere, 5_000, t, (l) => (l === L1 ? 1_000 : undefined));
    expect(elsewhere.status).toBe("away");
    expect(elsewhere.conns).toEqual({ [L2]: ["c2"] });
  });

  it("a full snapshot's reset then reopen keeps the status and cancels nothing", () => {
    const r = connected(1_000);
    closeLease(r, L1, 1_100, t);
    openConnection(r, L1, "c1", 1_100, t);
    expect(r.status).toBe("online");
    expect(r.offline_at).toBe(0);
  });

  it("caps the connections of one user", () => {
    const r = emptyRecord();
    for (let i = 0; i < MAX_CONNECTIONS_PER_USER; i++) openConnection(r, L1, `c${i}`, 1, t);
    expect(canOpen(r, L1, "one-more")).toBe(false);
    expect(canOpen(r, L1, "c0")).toBe(true);
  });
});

describe("activity and away", () => {
  it("goes away after inactivity, and activity brings the user back", () => {
    const r = connected(1_000);
    expect(nextDeadline(r, t)).toBe(2_000);
    applyDeadlines(r, 2_000, t, alive);
    expect(r.status).toBe("away");
    expect(r.manual).toBe(false);
    recordActivity(r, 2_500, true, false, 2_500, t);
    expect(r.status).toBe("online");
    expect(r.last_activity_at).toBe(2_500);
  });

  it("manual away is not undone by activity or new connections", () => {
    const r = connected(1_000);
    setStatus(r, "away", 0, 1_100, t);
    recordActivity(r, 1_200, true, false, 1_200, t);
    openConnection(r, L2, "c2", 1_300, t);
    expect(r.status).toBe("away");
    expect(r.manual).toBe(true);
    // ... but the client asking for online (manual activity) is the user changing it.
    recordActivity(r, 1_400, true, true, 1_400, t);
    expect(r.status).toBe("online");
    expect(r.manual).toBe(false);
  });

  it("an idle report sets away only once the timeout passed (SetStatusAwayIfNeeded)", () => {
    const r = connected(1_000);
    recordActivity(r, 1_500, false, false, 1_500, t);
    expect(r.status).toBe("online");
    recordActivity(r, 2_100, false, false, 2_100, t);
    expect(r.status).toBe("away");
    const m = connected(1_000);
    recordActivity(m, 1_100, false, true, 1_100, t);
    expect(m.status).toBe("away");
    expect(m.manual).toBe(true);
  });

  it("stores activity that only moves last_activity_at at most once per write interval", () => {
    const slow = { ...t, activityWriteIntervalMs: 500 };
    const r = emptyRecord();
    openConnection(r, L1, "c1", 1_000, slow);
    recordActivity(r, 1_400, true, false, 1_400, slow);
    expect(r.last_activity_at).toBe(1_000);
    recordActivity(r, 1_500, true, false, 1_500, slow);
    expect(r.last_activity_at).toBe(1_500);
    // Away waits for the write interval too, so a user active but not yet written never goes away.
    expect(nextDeadline(r, slow)).toBe(1_500 + 1_000 + 500);
  });
});

describe("manual statuses and dnd", () => {
  it("keeps a manual status through disconnects: no grace, no offline", () => {
    const r = connected(1_000);
    setStatus(r, "dnd", 0, 1_100, t);
    closeConnection(r, L1, "c1", 1_200, t);
    expect(r.offline_at).toBe(0);
    applyDeadlines(r, 9_999, t, alive);
    expect(r.status).toBe("dnd");
  });

  it("a timed dnd reverts to the automatic status it replaced", () => {
    const r = connected(1_000);
    setStatus(r, "dnd", 3, 1_100, t);
    expect(r.prev_status).toBe("online");
    expect(nextDeadline(r, t)).toBe(3_000);
    recordActivity(r, 2_900, true, false, 2_900, t);
    applyDeadlines(r, 2_999, t, alive);
    expect(r.status).toBe("dnd");
    applyDeadlines(r, 3_000, t, alive);
    expect(r).toMatchObject({ status: "online", manual: false, dnd_end_time: 0, prev_status: "" });
  });

  it("a timed dnd reverts to a manual status, and to offline when nobody is connected", () => {
    const away = connected(1_000);
    setStatus(away, "away", 0, 1_000, t);
    setStatus(away, "dnd", 2, 1_000, t);
    applyDeadlines(away, 2_000, t, alive);
    expect(away).toMatchObject({ status: "away", manual: true });

    const gone = connected(1_000);
    setStatus(gone, "dnd", 2, 1_000, t);
    closeConnection(gone, L1, "c1", 1_500, t);
    applyDeadlines(gone, 2_000, t, alive);
    expect(gone).toMatchObject({ status: "offline", manual: false });
  });

  it("changing the end of a dnd keeps what it reverts to", () => {
    const r = connected(1_000);
    setStatus(r, "dnd", 5, 1_000, t);
    setStatus(r, "dnd", 9, 1_100, t);
    expect(r.prev_status).toBe("online");
    expect(r.dnd_end_time).toBe(9);
  });

  it("online makes the user automatic again; without connections that means offline after the grace", () => {
    const r = emptyRecord();
    setStatus(r, "ooo", 0, 1_000, t);
    expect(r).toMatchObject({ status: "ooo", manual: true });
    setStatus(r, "online", 0, 2_000, t);
    expect(r).toMatchObject({ status: "online", manual: false, offline_at: 2_300 });
  });
});
