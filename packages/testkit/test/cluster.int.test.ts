/**
 * The production-shaped cluster at test size: three NATS nodes with the event stream, the
 * control stream and the presence KV at R3, the services behind HAProxy's layer-4 ports, two
 * gateways behind HAProxy's ingress. One cluster for the file.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBus, kvBucketState, kvBuckets, streams, streamState, type Bus } from "@switchboard/bus";
import { newClient4, newWebSocketClient, startCluster, waitFor, type Client4, type Cluster, type WebSocketClient } from "../src/index.js";

let cluster: Cluster;
let bus: Bus;
const open: WebSocketClient[] = [];

interface Received {
  event?: string;
  data?: Record<string, unknown>;
}

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
  cluster = await startCluster({ size: "test" });
  console.info(`test-size cluster started in ${Date.now() - started} ms`);
  bus = await connectBus({ servers: cluster.nats.url, name: "cluster-test" });
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
    const alice = await login(cluster.url, "alice");
    const team = await alice.client.createTeam({ name: `team${randomBytes(4).toString("hex")}`, display_name: "T", type: "O" } as never);
    const ch = await alice.client.createChannel({ team_id: team.id, name: `c${randomBytes(4).toString("hex")}`, display_name: "C", type: "O" } as never);
    const { events } = await listen(alice.token);
    const post = await alice.client.createPost({ channel_id: ch.id, message: "through the ingress" });
    await waitFor(() => events.some((e) => e.event === "posted" && postIdOf(e) === post.id), { timeoutMs: 15_000, what: "the post over the WebSocket" });
  });
});
