/**
 * Manual, timed and automatic statuses across two presence replicas (processes), restarts,
 * concurrent writers, reads and bad input.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { isolatedBucket, kvBuckets } from "@switchboard/bus";
import { newId } from "@switchboard/model";
import { waitFor } from "@switchboard/testkit";
import { closed, Cluster, codeOf, opened, SimGateway, statusOn, TIMING, waitForStatus, type User } from "./harness.js";

describe("presence: statuses", () => {
  let c: Cluster;
  let admin: User;
  let viewer: User;
  const gateways: SimGateway[] = [];

  const gateway = async (replica: number, name: string): Promise<SimGateway> => {
    const g = await new SimGateway(c.client(replica), name).acquire();
    g.startRenewing();
    gateways.push(g);
    return g;
  };

  beforeAll(async () => {
    c = await Cluster.start({ replicas: 2, bucket: isolatedBucket(kvBuckets.presence, "status_test") });
    admin = await c.createUser();
    viewer = await c.createUser();
  });

  afterAll(async () => {
    for (const g of gateways) g.stopRenewing();
    await c?.stop();
  });

  it("keeps a timed dnd through reconnects and restarts of both replicas, then returns to the previous status", async () => {
    const u = await c.createUser();
    const g = await gateway(0, "gw-dnd");
    await g.open(u.id, "k1");
    await c.waitForEvents(u.id, ["online"]);
    // The user stays active in dnd (else the status it returns to is away, as the time says).
    const activity = setInterval(() => void g.activity(u.id).catch(() => undefined), TIMING.awayAfterMs / 4);
    onTestFinished(() => clearInterval(activity));
    const end = Math.floor(Date.now() / 1000) + 7;
    const set = await c.client(1).setStatus({ userId: u.id, status: "dnd", dndEndTime: BigInt(end) }, { token: u.token });
    expect(set.status).toMatchObject({ status: "dnd", manual: true, dndEndTime: BigInt(end), prevStatus: "online" });
    await c.waitForEvents(u.id, ["online", "dnd"]);

    // Reconnects (the same gateway and another one, through the other replica) change nothing.
    await g.report([closed(u.id, "k1"), opened(u.id, "k2")]);
    const g2 = await gateway(1, "gw-dnd-2");
    await g2.open(u.id, "k3");
    await g.close(u.id, "k2");

    // Replica 0 crashes; the gateway moves to replica 1; replica 0 comes back; replica 1 restarts.
    c.replicas[0]!.handle.signal("SIGKILL");
    g.use(c.client(1));
    const r0 = await c.restartReplica(0);
    g.use(r0.client);
    g2.use(r0.client);
    await c.restartReplica(1);
    expect(Date.now()).toBeLessThan(end * 1000 - 500);
    for (const r of c.replicas) {
      const s = (await r.client.getStatus({ userId: u.id }, { token: viewer.token })).status!;
      expect(s).toMatchObject({ status: "dnd", manual: true, dndEndTime: BigInt(end), prevStatus: "online" });
    }

    // Neither process that is running now saw the SetStatus: the end time came from KV.
    await c.waitForEvents(u.id, ["online", "dnd", "online"], 10_000);
    expect(c.eventsFor(u.id)[2]!.receivedAt).toBeGreaterThanOrEqual(end * 1000);
    await waitForStatus(c, viewer.token, u.id, "online");
    const after = (await c.client(1).getStatus({ userId: u.id }, { token: viewer.token })).status!;
    expect(after).toMatchObject({ manual: false, dndEndTime: 0n, prevStatus: "" });
  });

  it("goes away after inactivity, comes back with activity, and keeps a manual away despite activity", async () => {
    const u = await c.createUser();
    const g = await gateway(1, "gw-away");
    const openedAt = Date.now();
    await g.open(u.id, "a1");
    await c.waitForEvents(u.id, ["online", "away"]);
    expect(c.eventsFor(u.id)[1]!.receivedAt - openedAt).toBeGreaterThanOrEqual(TIMING.awayAfterMs);
    expect((await c.client(0).getStatus({ userId: u.id }, { token: viewer.token })).status?.manual).toBe(false);

    await g.activity(u.id);
    await c.waitForEvents(u.id, ["online", "away", "online"]);

    await c.client(0).setStatus({ userId: u.id, status: "away" }, { token: u.token });
    await c.waitForEvents(u.id, ["online", "away", "online", "away"]);
    await g.activity(u.id);
    await g.use(c.client(0)).open(u.id, "a2");
    // Reports are applied before they return: had activity undone the manual away, it would show now.
    expect(await c.record(u.id)).toMatchObject({ status: "away", manual: true });
    expect(await statusOn(c.client(0), viewer.token, u.id)).toBe("away");

    // Only the user changing it ends a manual status; the event list shows nothing in between.
    await c.client(1).setStatus({ userId: u.id, status: "online" }, { token: u.token });
    await c.waitForEvents(u.id, ["online", "away", "online", "away", "online"]);
  });

  it("settles conflicting updates through both replicas on one consistent state, visible identically from both", async () => {
    const u = await c.createUser();
    const before = { changes: 0, published: 0 };
    for (let i = 0; i < 2; i++) {
      before.changes += await c.metric(i, "sb_presence_status_changes_total");
      before.published += await c.metric(i, 'sb_presence_events_published_total{kind="status"');
    }
    // 20 gateways (10 per replica) each open 2 connections at once; then all but one close at once.
    const gws = await Promise.all(Array.from({ length: 20 }, (_, i) => gateway(i % 2, `gw-race-${i}`)));
    await Promise.all(gws.map((g, i) => g.report([opened(u.id, `r${i}a`), opened(u.id, `r${i}b`)])));
    const counted = await c.record(u.id);
    expect(Object.values(counted!.conns).flat()).toHaveLength(40);

    const statuses = ["away", "dnd", "online", "offline", "ooo"] as const;
    await Promise.all([
      ...gws.map((g, i) => g.report(i === 0 ? [closed(u.id, "r0a")] : [closed(u.id, `r${i}a`), closed(u.id, `r${i}b`)])),
      ...Array.from({ length: 30 }, (_, i) =>
        c.client(i % 2).setStatus({ userId: u.id, status: statuses[i % statuses.length]!, dndEndTime: 0n }, { token: u.token }),
      ),
    ]);

    const final = await c.record(u.id);
    expect(Object.values(final!.conns).flat()).toEqual(["r0b"]);
    // (Re-read from KV each time: the away timer may still move an automatic status on.)
    await waitFor(async () => {
      const [a, b] = await Promise.all(c.replicas.map((r) => r.client.getStatus({ userId: u.id }, { token: viewer.token })));
      const stored = await c.record(u.id);
      return JSON.stringify(a!.status, replacer) === JSON.stringify(b!.status, replacer) && a!.status!.status === stored!.status;
    });
    // The last event any client sees is the final state, and every change was published once.
    await waitFor(async () => c.statusesFor(u.id).at(-1) === (await c.record(u.id))!.status, { what: "last status_change to match the stored status" });
    const after = { changes: 0, published: 0 };
    for (let i = 0; i < 2; i++) {
      after.changes += await c.metric(i, "sb_presence_status_changes_total");
      after.published += await c.metric(i, 'sb_presence_events_published_total{kind="status"');
    }
    expect(after.changes - before.changes).toBeGreaterThan(1);
    expect(after.published - before.published).toBe(after.changes - before.changes);
    const ids = c.eventsFor(u.id).map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("answers reads from both replicas: statuses by ids in order (unknown users offline) and all active statuses", async () => {
    const [on, dnd] = [await c.createUser(), await c.createUser()];
    const g = await gateway(0, "gw-read");
    await g.open(on.id, "o1");
    await c.client(1).setStatus({ userId: dnd.id, status: "dnd" }, { token: dnd.token });
    const unknown = newId();
    for (const r of c.replicas) {
      await waitFor(async () => {
        const got = (await r.client.getStatuses({ userIds: [dnd.id, unknown, on.id, dnd.id] }, { token: viewer.token })).statuses;
        return (
          JSON.stringify(got.map((s) => [s.userId, s.status])) ===
          JSON.stringify([
            [dnd.id, "dnd"],
            [unknown, "offline"],
            [on.id, "online"],
            [dnd.id, "dnd"],
          ])
        );
      });
      const active = (await r.client.listActiveStatuses({}, { token: viewer.token })).statuses;
      expect(active.find((s) => s.userId === on.id)?.status).toBe("online");
      expect(active.find((s) => s.userId === dnd.id)?.status).toBe("dnd");
      expect(active.some((s) => s.userId === unknown || s.status === "offline")).toBe(false);
    }
    const many = Array.from({ length: 1000 }, () => newId());
    expect((await c.client(0).getStatuses({ userIds: many }, { token: viewer.token })).statuses).toHaveLength(1000);
  });

  it("refuses bad input with clear errors and leaves the state untouched", async () => {
    const u = await c.createUser();
    const other = await c.createUser();
    await c.client(0).setStatus({ userId: u.id, status: "away" }, { token: u.token });
    const stored = JSON.stringify(await c.record(u.id));
    const p = c.client(1);
    const tok = { token: u.token };
    const nowSec = Math.floor(Date.now() / 1000);

    expect(await codeOf(p.setStatus({ userId: u.id, status: "busy" }, tok))).toBe("invalid_argument");
    expect(await codeOf(p.setStatus({ userId: u.id, status: "" }, tok))).toBe("invalid_argument");
    expect(await codeOf(p.setStatus({ userId: "not-an-id", status: "online" }, tok))).toBe("invalid_argument");
    expect(await codeOf(p.setStatus({ userId: u.id, status: "dnd", dndEndTime: BigInt(nowSec - 10) }, tok))).toBe("invalid_argument");
    expect(await codeOf(p.setStatus({ userId: u.id, status: "away", dndEndTime: BigInt(nowSec + 60) }, tok))).toBe("invalid_argument");
    expect(await codeOf(p.setStatus({ userId: u.id, status: "online" }, { token: other.token }))).toBe("permission_denied");
    expect(await codeOf(p.setStatus({ userId: u.id, status: "online" }))).toBe("unauthenticated");
    expect(await codeOf(p.setStatus({ userId: u.id, status: "online" }, { token: "garbage" }))).toBe("unauthenticated");

    expect(await codeOf(p.getStatuses({ userIds: Array.from({ length: 10_000 }, () => newId()) }, tok))).toBe("invalid_argument");
    expect(await codeOf(p.getStatuses({ userIds: Array.from({ length: 1001 }, () => newId()) }, tok))).toBe("invalid_argument");
    expect(await codeOf(p.getStatuses({ userIds: [] }, tok))).toBe("invalid_argument");
    expect(await codeOf(p.getStatuses({ userIds: [u.id, "x*>"] }, tok))).toBe("invalid_argument");
    expect(await codeOf(p.getStatus({ userId: "a.b.c" }, tok))).toBe("invalid_argument");
    expect(await codeOf(p.listActiveStatuses({}))).toBe("unauthenticated");

    const g = await gateway(1, "gw-bad");
    expect(await codeOf(g.report([opened(u.id, "ok1"), opened("bad-id", "c2")]))).toBe("invalid_argument");
    expect(await codeOf(g.report([opened(u.id, "not ok!")]))).toBe("invalid_argument");
    expect(await codeOf(g.report([{ kind: { case: undefined } }]))).toBe("invalid_argument");
    expect(await codeOf(p.report({ leaseId: newId(), events: [opened(u.id, "ok1")] }))).toBe("failed_precondition");
    expect(await codeOf(p.report({ leaseId: "../lease", events: [] }))).toBe("invalid_argument");
    expect(await codeOf(p.acquireLease({ gatewayId: "" }))).toBe("invalid_argument");

    expect(JSON.stringify(await c.record(u.id))).toBe(stored);
    expect(await statusOn(c.client(0), viewer.token, u.id)).toBe("away");

    // A system admin may set anyone's status.
    expect(await codeOf(p.setStatus({ userId: u.id, status: "online" }, { token: admin.token }))).toBe("ok");
  });
});

// Its own cluster: a replica that dies at its first published change must find no other test's
// users there (a sweep moving one of them to away would crash it before the change under test).
describe("presence: a crash between a status write and its event", () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ replicas: 2, bucket: isolatedBucket(kvBuckets.presence, "crash_test") });
  });

  afterAll(async () => {
    await c?.stop();
  });

  it("publishes a change whose writer crashed between the write and the publish, exactly once", async () => {
    // Presence does not check that users exist: plain ids are enough here.
    const users = Array.from({ length: 20 }, () => ({ id: newId() }));
    const doomed = await c.addReplica({ SB_FAILPOINTS: "presence-after-status-write" });
    const g = await new SimGateway(doomed.client, "gw-doomed").acquire();
    // The report's users are written concurrently; the first write done kills the process.
    expect(await codeOf(g.report(users.map((u, i) => opened(u.id, `z${i}`))))).not.toBe("ok");
    await doomed.handle.exited;
    c.replicas.pop();
    g.use(c.client(0)).startRenewing();
    onTestFinished(() => g.stopRenewing());
    // Active, so the status the sweep publishes is still online (not an away superseding it).
    const activity = setInterval(
      () => void g.report(users.map((u) => ({ kind: { case: "activity" as const, value: { userId: u.id, active: true, at: 0n } } }))).catch(() => undefined),
      TIMING.awayAfterMs / 4,
    );
    onTestFinished(() => clearInterval(activity));

    const written = [];
    for (const u of users) if ((await c.record(u.id))?.status === "online") written.push(u);
    expect(written.length).toBeGreaterThan(0);
    for (const u of written) expect(c.statusesFor(u.id)).toEqual([]);
    // The other replicas' sweeps find the unconfirmed changes; one of them publishes each, once.
    for (const u of written) await c.waitForEvents(u.id, ["online"]);
    for (const u of written) await waitFor(async () => (await c.record(u.id))?.pending_event === "");
    for (const u of written) expect(c.statusesFor(u.id)).toEqual(["online"]);
  });
});

function replacer(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
