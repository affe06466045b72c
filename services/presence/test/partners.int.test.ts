/**
 * SB_PRESENCE_PUSH_TO_PARTNERS: status_change also goes to the users sharing a direct or group
 * channel (posts' ListDirectPartners, faked here), and posts being slow or down never holds a
 * status change back. Two replicas in process (nothing is killed here).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBus, decodeEvent, isolatedBucket, kvBuckets, parseEventSubject, subjects, type Bus, type BusSubscription } from "@switchboard/bus";
import { silentLogger } from "@switchboard/log";
import { AppError, newId } from "@switchboard/model";
import { PostsService } from "@switchboard/proto/posts";
import { PresenceService } from "@switchboard/proto/presence";
import { createRpcClient, createRpcServer, type PresenceClient, type RpcServer } from "@switchboard/rpc";
import { freePort, sharedNatsServer, waitFor, testIdentity, testClientTls, type NatsServer } from "@switchboard/testkit";
import { loadPresenceConfig, startPresenceApp, type PresenceApp } from "../src/app.js";
import { opened, presenceEnv, SimGateway, TIMING } from "./harness.js";

interface Seen {
  recipient: string;
  userId: string;
  status: string;
  broadcastUserId: string;
}

describe("presence: pushes to direct and group partners", () => {
  let nats: NatsServer;
  let bus: Bus;
  let sub: BusSubscription;
  let posts: RpcServer;
  const apps: PresenceApp[] = [];
  const clients: PresenceClient[] = [];
  const gateways: SimGateway[] = [];
  const seen: Seen[] = [];
  const partners = new Map<string, string[]>();
  const lookups: string[] = [];
  let hang = false;

  const metric = async (app: PresenceApp, name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${app.opsPort}/metrics`)).text();
    return text
      .split("\n")
      .filter((l) => l.startsWith(name))
      .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
  };
  const to = (recipient: string, about: string) => seen.filter((s) => s.recipient === recipient && s.userId === about).map((s) => s.status);

  beforeAll(async () => {
    nats = await sharedNatsServer();
    // A fake posts over mTLS as posts: presence must present its own certificate, and may call ListDirectPartners.
    posts = createRpcServer({
      host: "127.0.0.1",
      port: 0,
      maxMessageBytes: 1 << 20,
      defaultDeadlineMs: 5_000,
      logger: silentLogger,
      tls: testIdentity("posts"),
    });
    const fake = new Proxy(
      {},
      {
        get: (_t, name) =>
          name === "listDirectPartners"
            ? async (req: { userId: string }) => {
                lookups.push(req.userId);
                if (hang) await new Promise(() => undefined);
                return { userIds: partners.get(req.userId) ?? [] };
              }
            : async () => {
                throw new AppError("internal", "not part of the fake");
              },
      },
    );
    posts.add(PostsService, fake as never);
    const postsPort = await posts.start();
    const env = presenceEnv(nats, `127.0.0.1:${await freePort()}`, {
      SB_PRESENCE_PUSH_TO_PARTNERS: "true",
      SB_PRESENCE_POSTS_ADDR: `127.0.0.1:${postsPort}`,
      SB_PRESENCE_PARTNERS_CACHE_MS: "60000",
      SB_PRESENCE_AWAY_AFTER_MS: "600000",
      SB_PRESENCE_KV_BUCKET: isolatedBucket(kvBuckets.presence, "partner_test"),
    });
    for (let i = 0; i < 2; i++) {
      const app = await startPresenceApp(loadPresenceConfig({ ...env, SB_POD_NAME: `partners-${i}` }).config, { log: silentLogger });
      apps.push(app);
      clients.push(createRpcClient(PresenceService, { address: `127.0.0.1:${app.grpcPort}`, defaultDeadlineMs: 10_000, tls: testClientTls("presence") }));
    }
    bus = await connectBus({ ...nats.as("test"), name: "partners-test" });
    sub = bus.subscribe(subjects.allStatus, (m) => {
      const scope = parseEventSubject(m.subject);
      const ev = decodeEvent(m.data);
      if (ev.event !== "status_change" || scope?.scope !== "user") return;
      const d = JSON.parse(Buffer.from(ev.data).toString()) as { status: string; user_id: string };
      seen.push({ recipient: scope.id, userId: d.user_id, status: d.status, broadcastUserId: ev.broadcast?.userId ?? "" });
    });
    await bus.flush();
  });

  afterAll(async () => {
    for (const g of gateways) g.stopRenewing();
    sub?.unsubscribe();
    for (const c of clients) c.close();
    for (const a of apps) await a.stop();
    await bus?.close();
    await posts?.stop(100);
    await nats?.stop();
  });

  const gateway = async (i: number): Promise<SimGateway> => {
    const g = await new SimGateway(clients[i]!, `gw-partners-${i}`).acquire();
    g.startRenewing();
    gateways.push(g);
    return g;
  };

  it("sends each change to the user and to every partner exactly once", async () => {
    const [u, p1, p2] = [newId(), newId(), newId()];
    partners.set(u, [p1, p2, u]);
    const g = await gateway(0);
    await g.report([opened(u, "c1")]);
    await waitFor(() => to(p1, u).length === 1 && to(p2, u).length === 1 && to(u, u).length === 1);
    const copy = seen.find((s) => s.recipient === p1)!;
    expect(copy).toMatchObject({ status: "online", userId: u, broadcastUserId: p1 });

    await g.close(u, "c1");
    await waitFor(() => to(p1, u).length === 2 && to(p2, u).length === 2 && to(u, u).length === 2);
    expect(to(p1, u)).toEqual(["online", "offline"]);
    expect(to(p2, u)).toEqual(["online", "offline"]);
    // The user is not sent a partner copy of their own change; partners are cached per replica.
    expect(seen.filter((s) => s.recipient === u && s.broadcastUserId !== u)).toEqual([]);
    expect(lookups.filter((x) => x === u).length).toBeLessThanOrEqual(2);
  });

  it("never holds a status change back when posts hangs or is down: the extra pushes are skipped", async () => {
    const [v, w, partner] = [newId(), newId(), newId()];
    partners.set(v, [partner]);
    partners.set(w, [partner]);
    const failuresBefore =
      (await metric(apps[0]!, "sb_presence_partner_lookup_failures_total")) + (await metric(apps[1]!, "sb_presence_partner_lookup_failures_total"));
    hang = true;
    const g = await gateway(1);
    const started = Date.now();
    await g.report([opened(v, "v1")]);
    expect(Date.now() - started).toBeLessThan(900);
    await waitFor(() => to(v, v).length === 1);

    await posts.stop(100);
    await g.report([opened(w, "w1")]);
    await waitFor(() => to(w, w).length === 1);
    await waitFor(
      async () =>
        (await metric(apps[0]!, "sb_presence_partner_lookup_failures_total")) + (await metric(apps[1]!, "sb_presence_partner_lookup_failures_total")) >=
        failuresBefore + 2,
    );
    expect(to(partner, v)).toEqual([]);
    expect(to(partner, w)).toEqual([]);
    // Status changes keep flowing for everyone.
    await g.report([{ kind: { case: "closed", value: { userId: w, connectionId: "w1", at: 0n } } }]);
    await waitFor(() => to(w, w).length === 2, { timeoutMs: TIMING.graceMs + 5_000 });
  });
});
