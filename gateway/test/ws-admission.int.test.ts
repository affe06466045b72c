/**
 * A new WebSocket is admitted by presence before its hello, for the whole cluster (two
 * gateways, two presence replicas behind HAProxy):
 * - once a client has its hello, a status read on either presence replica says online, even
 *   with each replica's KV watch running late;
 * - a user holds at most SB_PRESENCE_MAX_CONNECTIONS_PER_USER sockets over both gateways, and
 *   one client address at most SB_PRESENCE_MAX_CONNECTIONS_PER_IP through HAProxy (another
 *   address behind the same proxy is not affected); a socket over a limit is closed with 4003
 *   and never gets a hello.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { CloseCode } from "@switchboard/bus";
import { PresenceService } from "@switchboard/proto/presence";
import { createRpcClient, type PresenceClient } from "@switchboard/rpc";
import { seedUsers, startCluster, waitFor, type Cluster, type SeededUser, testClientTls } from "@switchboard/testkit";
import { wsUrl } from "./support.js";

const PER_USER = 3;
const PER_IP = 5;
/** Connects at once to one gateway, each from an address of its own. */
const BURST = 200;

/** Sum of one counter over its labels matching `match`, from a /metrics text. */
async function counter(opsPort: number, name: string, match: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) if (line.startsWith(name) && line.includes(match)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  return sum;
}

let cluster: Cluster;
let presence: PresenceClient[];
let users: SeededUser[];
let next = 0;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  cluster = await startCluster({
    size: "test",
    topology: { services: { presence: 2 } },
    env: {
      SB_PRESENCE_MAX_CONNECTIONS_PER_USER: String(PER_USER),
      SB_PRESENCE_MAX_CONNECTIONS_PER_IP: String(PER_IP),
      // Each replica's watch is late, as a loaded one's may be: the replica that did not write
      // the connection learns of it 300 ms later, long after the client has its hello.
      SB_FAILPOINTS: "presence.watch_lag_ms.300",
    },
  });
  presence = cluster.services.presence.map((r) =>
    createRpcClient(PresenceService, { address: `127.0.0.1:${r.grpcPort}`, defaultDeadlineMs: 10_000, tls: testClientTls("presence") }),
  );
  users = await seedUsers({ databaseUrl: cluster.databaseUrl, count: 60 + BURST });
}, 120_000);

afterAll(async () => {
  for (const s of sockets) s.terminate();
  for (const c of presence ?? []) c.close();
  await cluster?.stop();
}, 60_000);

const user = (): SeededUser => users[next++]!;

interface Socket {
  readonly ws: WebSocket;
  /** Resolves with the hello's data, or rejects with the close code if the socket closed first. */
  readonly hello: Promise<Record<string, unknown>>;
  readonly closed: Promise<number>;
}

function open(url: string, token: string, localAddress = "127.0.0.1"): Socket {
  const ws = new WebSocket(wsUrl(url), { localAddress, headers: { Authorization: `Bearer ${token}` } });
  sockets.push(ws);
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  const hello = new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.on("message", (raw: Buffer) => {
      const m = JSON.parse(raw.toString()) as { event?: string; data?: Record<string, unknown> };
      if (m.event === "hello") resolve(m.data ?? {});
    });
    void closed.then((code) => reject(new Error(`closed with ${code} before hello`)));
    ws.once("error", reject);
  });
  hello.catch(() => undefined);
  return { ws, hello, closed };
}

async function statusOn(replica: PresenceClient, u: SeededUser): Promise<string> {
  const r = await replica.getStatus({ userId: u.id }, { token: u.token });
  return r.status!.status;
}

describe("admission by presence", () => {
  it("has every user online on every presence replica once the client got its hello", async () => {
    const [gw0, gw1] = cluster.gateways.list.map((g) => g.url) as [string, string];
    const some = Array.from({ length: 20 }, user);
    // All at once: the connects of one moment share reports.
    const opened = some.map((u, i) => ({ u, s: open(i % 2 === 0 ? gw0 : gw1, u.token, `127.0.3.${i + 1}`) }));
    const seen = await Promise.all(
      opened.map(async ({ u, s }) => {
        await s.hello;
        // Both replicas asked right after the hello, before anything else happens.
        return Promise.all(presence.map((p) => statusOn(p, u)));
      }),
    );
    expect(seen.flat().filter((st) => st !== "online")).toEqual([]);
    for (const { s } of opened) s.ws.close();
  });

  it("admits a burst of connects in a few reports, not one per connect", async () => {
    const reports = async (): Promise<number> => {
      let n = 0;
      for (const r of cluster.services.presence) n += await counter(r.opsPort, "sb_rpc_server_handled_total", 'method="sb.presence.v1.PresenceService/Report"');
      return n;
    };
    const before = await reports();
    const started = performance.now();
    const burst = users.slice(60, 60 + BURST).map((u, i) => open(cluster.gateways.list[0]!.url, u.token, `127.0.5.${i + 1}`));
    await Promise.all(burst.map((s) => s.hello));
    const ms = performance.now() - started;
    const used = (await reports()) - before;
    process.stdout.write(`${BURST} connects at once to one gateway: every hello in ${ms.toFixed(0)} ms, ${used} presence reports (heartbeats included)\n`);
    expect(used).toBeLessThan(BURST / 10);
    for (const s of burst) s.ws.close();
  });

  it("holds a user to the per-user limit over both gateways", async () => {
    const [gw0, gw1] = cluster.gateways.list.map((g) => g.url) as [string, string];
    const u = user();
    const held: Socket[] = [];
    for (let i = 0; i < PER_USER; i++) {
      const s = open(i % 2 === 0 ? gw0 : gw1, u.token, "127.0.4.1");
      await s.hello;
      held.push(s);
    }
    for (const url of [gw0, gw1]) {
      const over = open(url, u.token, "127.0.4.2");
      await expect(over.hello).rejects.toThrow(`closed with ${CloseCode.TooManyConnections}`);
    }
    // One goes: another may come (once presence heard of the close).
    held[0]!.ws.close();
    await held[0]!.closed;
    await waitFor(
      async () => {
        const s = open(gw1, u.token, "127.0.4.3");
        return s.hello.then(
          () => true,
          () => false,
        );
      },
      { timeoutMs: 10_000, intervalMs: 300, what: "a socket admitted after one closed" },
    );
  });

  it("holds one client address to the per-address limit through HAProxy, and only that address", async () => {
    const held = Array.from({ length: PER_IP }, () => open(cluster.url, user().token, "127.0.0.9"));
    const hellos = await Promise.all(held.map((s) => s.hello));
    // HAProxy spread them: the limit is the cluster's, not one gateway's.
    expect(new Set(hellos.map((h) => h.server_hostname)).size).toBe(2);
    const over = open(cluster.url, user().token, "127.0.0.9");
    await expect(over.hello).rejects.toThrow(`closed with ${CloseCode.TooManyConnections}`);
    const other = open(cluster.url, user().token, "127.0.0.10");
    await other.hello;
  });
});
