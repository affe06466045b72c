/**
 * The production-shaped cluster at test size: three NATS nodes with the event stream, the
 * control stream and the presence KV at R3, the services (two of posts) behind HAProxy's
 * layer-4 ports, two gateways behind HAProxy's ingress. One cluster for the file; each fault
 * restores what it broke.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connectBus, kvBucketState, kvBuckets, streams, streamState, type Bus } from "@switchboard/bus";
import { newClient4, newWebSocketClient, startCluster, waitFor, type Client4, type Cluster, type WebSocketClient } from "../src/index.js";

let cluster: Cluster;
let bus: Bus;
const open: WebSocketClient[] = [];

interface Received {
  event?: string;
  data?: Record<string, unknown>;
}

let alice: { id: string; client: Client4; token: string };
let channelId = "";

async function login(url: string, prefix: string): Promise<{ id: string; client: Client4; token: string }> {
  const username = `${prefix}${randomBytes(4).toString("hex")}`;
  await newClient4(url).createUser({ username, email: `${username}@example.com`, password: "password-1" } as never, "", "");
  const client = newClient4(url);
  const me = await client.login(username, "password-1");
  return { id: me.id, client, token: client.getToken() };
}

/** A stock WebSocketClient through the ingress, recording what it gets. */
async function listen(token: string): Promise<{ ws: WebSocketClient; events: Received[] }> {
  const ws = newWebSocketClient({ headers: { Authorization: `Bearer ${token}` } });
  open.push(ws);
  const events: Received[] = [];
  ws.addMessageListener((m) => events.push(m as Received));
  ws.initialize(`${cluster.url.replace(/^http/, "ws")}/api/v4/websocket`, undefined, true);
  await waitFor(() => events.some((e) => e.event === "hello"), { timeoutMs: 15_000, what: "hello through the ingress" });
  return { ws, events };
}

const postIdOf = (e: Received): string => (JSON.parse(String(e.data?.post)) as { id: string }).id;

beforeAll(async () => {
  const started = Date.now();
  // Debug logs: each gateway logs the client IP of every WebSocket it accepts.
  cluster = await startCluster({ size: "test", gatewayEnv: { SB_GATEWAY_LOG_LEVEL: "debug" } });
  console.info(`test-size cluster started in ${Date.now() - started} ms`);
  bus = await connectBus({ ...cluster.nats.as("test"), name: "cluster-test" });
}, 120_000);

afterAll(async () => {
  for (const ws of open) ws.close();
  await bus?.close();
  await cluster?.stop();
}, 60_000);

describe("a test-size cluster", () => {
  it("replicates the event stream, the control stream and the presence KV on three NATS nodes", async () => {
    expect(cluster.nats.nodes).toHaveLength(3);
    // The event stream appears with the first post; posts creates it at start.
    for (const name of [streams.events.name, streams.control.name]) {
      const s = await waitFor(
        async () => {
          const st = await streamState(bus, name);
          return st.currentReplicas === 3 && st;
        },
        { timeoutMs: 20_000, what: `${name} with three current replicas` },
      );
      expect(s.replicas).toBe(3);
    }
    expect((await kvBucketState(bus, kvBuckets.presence.name)).replicas).toBe(3);
  });

  it("serves a stock client through HAProxy: login, then a post arrives over the WebSocket", async () => {
    alice = await login(cluster.url, "alice");
    const team = await alice.client.createTeam({ name: `team${randomBytes(4).toString("hex")}`, display_name: "T", type: "O" } as never);
    const ch = await alice.client.createChannel({ team_id: team.id, name: `c${randomBytes(4).toString("hex")}`, display_name: "C", type: "O" } as never);
    channelId = ch.id;
    const { events } = await listen(alice.token);
    const post = await alice.client.createPost({ channel_id: ch.id, message: "through the ingress" });
    await waitFor(() => events.some((e) => e.event === "posted" && postIdOf(e) === post.id), { timeoutMs: 15_000, what: "the post over the WebSocket" });
  });
  it("passes the client's address to the gateways, and drops an X-Forwarded-For the client forged", async () => {
    const logs = () => cluster.gateways.list.flatMap((g) => g.process.logs);
    const before = new Set(logs());
    // 127.0.0.3 is loopback too: a client HAProxy sees at an address of its own.
    const ws = new WebSocket(`${cluster.url.replace(/^http/, "ws")}/api/v4/websocket`, {
      localAddress: "127.0.0.3",
      headers: { "X-Forwarded-For": "203.0.113.7" },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      const line = await waitFor(() => logs().find((l) => !before.has(l) && l.msg === "websocket connected"), {
        timeoutMs: 10_000,
        what: "a gateway's connect log line",
      });
      expect(line.client_ip).toBe("127.0.0.3");
    } finally {
      ws.close();
    }
  });
});

describe("HAProxy in front of the gateways", () => {
  const slotOf = async (slot: number) => (await cluster.haproxy.slots()).find((s) => s.slot === slot)!;

  it("takes a gateway whose /readyz stops answering out of the pool, and new sockets go to the others", async () => {
    const [paused, ...others] = cluster.gateways.list;
    expect(others.length).toBeGreaterThan(0);
    paused!.process.signal("SIGSTOP");
    try {
      await cluster.haproxy.waitSlot(paused!.slot, "DOWN", 10_000);
      const sessionsBefore = (await slotOf(paused!.slot)).total;
      // Each gets its hello: a paused gateway could not have sent it.
      for (let i = 0; i < 3; i++) await listen(alice.token);
      expect((await slotOf(paused!.slot)).total).toBe(sessionsBefore);
    } finally {
      paused!.process.signal("SIGCONT");
    }
    await cluster.haproxy.waitSlot(paused!.slot, "UP", 10_000);
  });

  it("adds a gateway through the runtime API, and the next socket goes to it (leastconn)", async () => {
    // Every gateway in the pool holds a socket, so the new one, with none, is the least loaded.
    for (let i = 0; i < 10 && (await cluster.haproxy.slots()).some((s) => s.status.startsWith("UP") && s.sessions === 0); i++) await listen(alice.token);
    const added = await cluster.gateways.add();
    expect((await slotOf(added.slot)).status).toMatch(/^UP/);
    expect(cluster.gateways.list).toContain(added);
    // The hello names the gateway that answered (server_hostname, its pod name). Counting the new
    // slot's sessions could not tell this socket from another client reconnecting there.
    const { events } = await listen(alice.token);
    expect(events.find((e) => e.event === "hello")?.data?.server_hostname).toBe(added.name);
  });

  it("replaces a gateway (a rolling step): the new one is up in the pool before the old one leaves it", async () => {
    const old = cluster.gateways.list[0]!;
    const n = cluster.gateways.list.length;
    const fresh = await cluster.gateways.replace(0);
    expect(cluster.gateways.list[0]).toBe(fresh);
    expect(cluster.gateways.list).toHaveLength(n);
    expect(fresh.slot).not.toBe(old.slot);
    expect((await slotOf(fresh.slot)).status).toMatch(/^UP/);
    expect((await slotOf(old.slot)).status).toMatch(/^MAINT/);
    await listen(alice.token);
  });

  it("answers every request right after a gateway is killed, before any check noticed", async () => {
    const victim = cluster.gateways.list[0]!;
    victim.process.signal("SIGKILL");
    await victim.process.exited;
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await fetch(`${cluster.url}/api/v4/system/ping`)).status);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // The pool as it was: the dead one's slot emptied, a new gateway in its place.
    await cluster.gateways.remove(0);
    await cluster.gateways.add();
  });

  it("removes a gateway: its slot goes into maintenance and the cluster keeps serving", async () => {
    const n = cluster.gateways.list.length;
    const gone = cluster.gateways.list[n - 1]!;
    await cluster.gateways.remove(n - 1);
    expect(cluster.gateways.list).toHaveLength(n - 1);
    expect(await gone.process.exited).toBeDefined();
    expect((await slotOf(gone.slot)).status).toMatch(/^MAINT/);
    await listen(alice.token);
  });
});

describe("a service replica killed", () => {
  it("keeps posting through the other posts replica, behind HAProxy's service port", async () => {
    const { events } = await listen(alice.token);
    // The replica holding the most connections (the gateways' among them) is the one to kill.
    const state = await cluster.haproxy.serviceState("posts");
    expect(state).toHaveLength(2);
    const busiest = state[0]!.sessions >= state[1]!.sessions ? 0 : 1;
    expect(state[busiest]!.sessions).toBeGreaterThan(0);
    const victim = cluster.services.posts[busiest];
    await victim!.kill();
    try {
      // A call in flight on the killed replica fails, as it would for any client; the next one lands on the other.
      const post = await waitFor(() => alice.client.createPost({ channel_id: channelId, message: "one posts replica down" }), {
        timeoutMs: 20_000,
        what: "a post accepted with a posts replica dead",
      });
      await waitFor(() => events.some((e) => e.event === "posted" && postIdOf(e) === post.id), { timeoutMs: 20_000, what: "the post over the WebSocket" });
    } finally {
      await victim!.restart();
    }
    await waitFor(async () => (await cluster.haproxy.serviceState("posts")).every((r) => r.status.startsWith("UP")), {
      timeoutMs: 20_000,
      what: "posts whole again",
    });
  });
});

describe("NATS node failure", () => {
  it("keeps serving with the event stream's leader node killed: a post still arrives", async () => {
    const { events } = await listen(alice.token);
    // The node that matters most: the one leading the event stream.
    const { leader, lastSeq } = await streamState(bus, streams.events.name);
    const node = cluster.nats.nodes[cluster.nats.names.indexOf(leader)]!;
    expect(node).toBeDefined();
    const processes = [
      ...Object.values(cluster.services)
        .flat()
        .map((r) => r.process),
      ...cluster.gateways.list.map((g) => g.process),
    ];
    const marks = processes.map((p) => p.logs.length);
    await node.kill();
    try {
      // Whoever was on the killed node is back on another one before the post is written.
      await waitFor(
        () =>
          processes.every((p, i) => {
            const since = p.logs.slice(marks[i]);
            const lost = since.findIndex((l) => l.msg === "nats disconnected");
            return lost < 0 || since.slice(lost).some((l) => l.msg === "nats reconnected");
          }),
        { timeoutMs: 20_000, what: "every process on a live NATS node" },
      );
      const post = await waitFor(() => alice.client.createPost({ channel_id: channelId, message: "one node down" }), {
        timeoutMs: 20_000,
        what: "a post accepted",
      });
      await waitFor(() => events.some((e) => e.event === "posted" && postIdOf(e) === post.id), { timeoutMs: 20_000, what: "the post over the WebSocket" });
      // And the stream stored it, under a new leader: what resumes and back-fills read.
      await waitFor(async () => (await streamState(bus, streams.events.name)).lastSeq > lastSeq, {
        timeoutMs: 20_000,
        what: "the event stream to store the post",
      });
    } finally {
      await node.restart();
      await cluster.nats.waitHealthy();
    }
  });
});

describe("NATS authorization on the cluster", () => {
  it("refused nothing any component did through all of the above (each has every right it uses)", () => {
    expect(cluster.nats.nodes.flatMap((n) => n.violations())).toEqual([]);
  });
});
