/**
 * Connections from many gateways, the offline grace, and leases that lapse: two presence
 * replicas as processes, gateways simulated over gRPC (one as a process that gets killed).
 */
import { join } from "node:path";
import { isolatedBucket, kvBuckets } from "@switchboard/bus";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnProcess, waitFor, rpcTlsEnv } from "@switchboard/testkit";
import { closed, Cluster, codeOf, opened, SimGateway, statusOn, TIMING, waitForStatus, type User } from "./harness.js";

const fixture = join(fileURLToPath(new URL(".", import.meta.url)), "fixtures", "fake-gateway.mjs");

describe("presence: connections across gateways", () => {
  let c: Cluster;
  let viewer: User;
  const gateways: SimGateway[] = [];

  const gateway = async (replica: number, name: string): Promise<SimGateway> => {
    const g = await new SimGateway(c.client(replica), name).acquire();
    g.startRenewing();
    gateways.push(g);
    return g;
  };

  /** Waits until a user's own status_change events are exactly `expected`. */
  const eventsBecome = (userId: string, expected: string[]) => c.waitForEvents(userId, expected);

  beforeAll(async () => {
    // Nobody goes away here: this file is about connections (statuses.int.test.ts covers away).
    c = await Cluster.start({ replicas: 2, bucket: isolatedBucket(kvBuckets.presence, "conn_test"), env: { SB_PRESENCE_AWAY_AFTER_MS: "600000" } });
    viewer = await c.createUser();
  });

  afterAll(async () => {
    for (const g of gateways) g.stopRenewing();
    await c?.stop();
  });

  it("keeps a user with three connections on three gateways online until the last closes, then offline after the grace", async () => {
    const u = await c.createUser();
    const witness = await c.createUser();
    const [a, b, g3] = [await gateway(0, "gw-a"), await gateway(1, "gw-b"), await gateway(0, "gw-c")];
    await a.open(u.id, "a1");
    await eventsBecome(u.id, ["online"]);
    await b.open(u.id, "b1");
    await g3.open(u.id, "c1");
    await waitForStatus(c, viewer.token, u.id, "online");

    // Two of three close; the witness closes its only connection at the same moment.
    await a.report([opened(witness.id, "w1")]);
    await a.report([closed(u.id, "a1"), closed(witness.id, "w1")]);
    await b.close(u.id, "b1");
    // The witness's offline proves the grace passed and the sweeps ran: u must still be online.
    await eventsBecome(witness.id, ["online", "offline"]);
    expect(await statusOn(c.client(0), viewer.token, u.id)).toBe("online");
    expect(await statusOn(c.client(1), viewer.token, u.id)).toBe("online");

    const lastClose = closed(u.id, "c1");
    await g3.report([lastClose]);
    await eventsBecome(u.id, ["online", "offline"]);
    const offline = c.eventsFor(u.id)[1]!;
    const closedAt = Number((lastClose.kind as { value: { at: bigint } }).value.at);
    expect(offline.receivedAt - closedAt).toBeGreaterThanOrEqual(TIMING.graceMs);
    expect(offline.broadcastUserId).toBe(u.id);
    await waitForStatus(c, viewer.token, u.id, "offline");
  });

  it("publishes no status_change at all for a reconnect inside the grace", async () => {
    const u = await c.createUser();
    const witness = await c.createUser();
    const [a, b] = [await gateway(0, "gw-d"), await gateway(1, "gw-e")];
    await a.report([opened(u.id, "d1"), opened(witness.id, "w1")]);
    await eventsBecome(u.id, ["online"]);
    await eventsBecome(witness.id, ["online"]);

    // The tab reloads: closed on one gateway, reconnected through another replica's gateway.
    await a.report([closed(u.id, "d1"), closed(witness.id, "w1")]);
    await b.open(u.id, "e1");
    await eventsBecome(witness.id, ["online", "offline"]);
    await waitForStatus(c, viewer.token, u.id, "online");

    // Whatever a wrongly kept deadline would have published is out by now; then a real close.
    await b.close(u.id, "e1");
    await eventsBecome(u.id, ["online", "offline"]);
  });

  it("closes the connections of a gateway that stops renewing within the lease TTL, except users connected elsewhere", async () => {
    const [lonely, both] = [await c.createUser(), await c.createUser()];
    const dying = await gateway(0, "gw-dying");
    const healthy = await gateway(1, "gw-healthy");
    await dying.report([opened(lonely.id, "x1"), opened(both.id, "x2")]);
    await healthy.open(both.id, "y1");
    await eventsBecome(lonely.id, ["online"]);
    await eventsBecome(both.id, ["online"]);

    await dying.report([]);
    const lastRenewal = Date.now();
    dying.stopRenewing();
    await eventsBecome(lonely.id, ["online", "offline"]);
    const lapse = c.eventsFor(lonely.id)[1]!.receivedAt - lastRenewal;
    expect(lapse).toBeGreaterThanOrEqual(TIMING.leaseTtlMs / 2);
    expect(lapse).toBeLessThan(TIMING.leaseTtlMs + 750);

    // The user connected elsewhere loses only the dead gateway's connection.
    await waitFor(async () => {
      const r = await c.record(both.id);
      return r !== null && Object.keys(r.conns).length === 1 && r.conns[healthy.leaseId]?.[0] === "y1";
    });
    await waitForStatus(c, viewer.token, both.id, "online");
    await waitForStatus(c, viewer.token, lonely.id, "offline");
    expect(c.statusesFor(both.id)).toEqual(["online"]);

    // The gateway comes back: its old lease is refused and changes nothing ...
    expect(await codeOf(dying.report([opened(lonely.id, "x3")]))).toBe("failed_precondition");
    expect(await codeOf(dying.use(c.client(1)).report([]))).toBe("failed_precondition");
    expect((await c.record(lonely.id))?.conns).toEqual({});
    // ... until it takes a new lease and reports everything it holds.
    await dying.acquire();
    await dying.report([opened(lonely.id, "x3"), opened(both.id, "x4")], true);
    await eventsBecome(lonely.id, ["online", "offline", "online"]);
    expect(Object.keys((await c.record(both.id))!.conns).sort()).toEqual([dying.leaseId, healthy.leaseId].sort());
  });

  it("takes a killed gateway process's users offline within the lease TTL", async () => {
    const u = await c.createUser();
    const proc = await spawnProcess({
      entry: fixture,
      env: { ...rpcTlsEnv("gateway"), PRESENCE_ADDR: `127.0.0.1:${c.replicas[1]!.handle.ready.grpc_port}`, USER_IDS: u.id },
    });
    await eventsBecome(u.id, ["online"]);
    await proc.waitForLog((l) => l.msg === "renewed");
    proc.signal("SIGKILL");
    await proc.exited;
    const killedAt = Date.now();
    await eventsBecome(u.id, ["online", "offline"]);
    expect(c.eventsFor(u.id)[1]!.receivedAt - killedAt).toBeLessThan(TIMING.leaseTtlMs + 750);
    await waitForStatus(c, viewer.token, u.id, "offline");
  });

  it("a full snapshot closes the lease's connections it does not list; a release closes the rest after the grace", async () => {
    const [kept, dropped] = [await c.createUser(), await c.createUser()];
    const g = await gateway(1, "gw-snap");
    await g.report([opened(kept.id, "s1"), opened(dropped.id, "s2")]);
    await eventsBecome(kept.id, ["online"]);
    await eventsBecome(dropped.id, ["online"]);
    await g.report([opened(kept.id, "s1")], true);
    await eventsBecome(dropped.id, ["online", "offline"]);
    expect(c.statusesFor(kept.id)).toEqual(["online"]);

    g.stopRenewing();
    const releasedAt = Date.now();
    await c.client(0).releaseLease({ leaseId: g.leaseId });
    await eventsBecome(kept.id, ["online", "offline"]);
    expect(c.eventsFor(kept.id)[1]!.receivedAt - releasedAt).toBeGreaterThanOrEqual(TIMING.graceMs);
    expect(await codeOf(g.report([]))).toBe("failed_precondition");
    // Releasing again (or an unknown lease) is a no-op.
    expect(await codeOf(c.client(1).releaseLease({ leaseId: g.leaseId }))).toBe("ok");
  });
});
