/**
 * NATS failures while posts flow, seen by stock clients:
 * - nats-server SIGKILLed and restarted on its port and store: the gateway is not ready while
 *   disconnected, ready again after, and reads back from the stream what it missed; every post
 *   reaches every member once, in order, with consecutive seq and no resync;
 * - nats-server paused (SIGSTOP, shorter than the client's ping timeout, so the connection
 *   stays "up"): the canary round trip notices, readiness goes false and comes back, and
 *   nothing is missing;
 * - an outage just after a client connected: the read-back, reaching back before the outage,
 *   hands the client nothing published before it connected (its own membership events);
 * - an outage past the stream's retention (the stream purged while one gateway is cut off):
 *   exactly that gateway's connections are forced to resync (new connection_id and hello),
 *   the other gateway's clients keep theirs and get every post.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBus, decodeEvent, deleteStreamMessage, purgeStream, readStreamRange, streams, subjects, type Bus } from "@switchboard/bus";
import { spawnDeployable, startFaultProxy, startStack, waitFor, type ChildHandle, type FaultProxy, type Stack } from "@switchboard/testkit";
import { connect, newUser, postOf, seqs, type Recorder, type TestUser } from "./support.js";

let stack: Stack;
let url: string;
/** A second gateway whose connection to NATS goes through a proxy the tests cut. */
let proxy: FaultProxy;
let cutOff: ChildHandle;
let cutUrl: string;
let bus: Bus;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let teamId: string;
const open: Recorder[] = [];

beforeAll(async () => {
  stack = await startStack({ ownNats: true });
  url = stack.gatewayUrls[0]!;
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
  carol = await newUser(url, "carol");
  teamId = (await alice.client.createTeam({ name: `out${Date.now()}`, display_name: "Outage", type: "O" } as never)).id;
  await alice.client.addToTeam(teamId, bob.id);
  await alice.client.addToTeam(teamId, carol.id);
  proxy = await startFaultProxy({ target: `127.0.0.1:${String(stack.nats.port)}` });
  cutOff = await spawnDeployable("gateway", {
    ...stack.nats.env("gateway"),
    SB_NATS_URL: `nats://127.0.0.1:${String(proxy.port)}`,
    DATABASE_URL: stack.db.url,
    SB_POD_NAME: "gateway-cut-off",
    // Its read-back reaches well back before each outage, so what a client connected just
    // before one could be handed from before its hello is sure to be in it.
    SB_GATEWAY_RECOVERY_MARGIN_MS: "30000",
    SB_GATEWAY_LISTEN_PORT: "0",
    SB_GATEWAY_OPS_PORT: "0",
    SB_GATEWAY_ACCOUNTS_ADDR: stack.addrs.accounts,
    SB_GATEWAY_POSTS_ADDR: stack.addrs.posts,
    SB_GATEWAY_PRESENCE_ADDR: stack.addrs.presence,
  });
  cutUrl = `http://127.0.0.1:${String(cutOff.ready.port)}`;
  bus = await connectBus({ ...stack.nats.as("test"), name: "outage-test" });
});

afterAll(async () => {
  for (const r of open) r.close();
  await bus?.close();
  await cutOff?.stop();
  await proxy?.stop();
  await stack?.stop();
});

interface ReadinessWatch {
  sawNotReady: boolean;
  ready: boolean;
  /** When it was first seen not ready, and then ready again (Unix ms, 0 until then). */
  notReadyAt: number;
  readyAgainAt: number;
  /** Every reason /readyz gave for not being ready. */
  readonly reasons: Set<string>;
  stop(): void;
}

/** Watches a process's /readyz: whether it was ever seen not ready and why, and its last answer. */
function watchReadiness(opsPort: unknown): ReadinessWatch {
  const w: ReadinessWatch = { sawNotReady: false, ready: true, notReadyAt: 0, readyAgainAt: 0, reasons: new Set(), stop: () => clearInterval(t) };
  const t = setInterval(() => {
    fetch(`http://127.0.0.1:${String(opsPort)}/readyz`).then(
      async (r) => {
        const body = (await r.json()) as { ready: boolean; reasons: string[] };
        w.ready = body.ready;
        if (!body.ready && !w.sawNotReady) w.notReadyAt = Date.now();
        if (!body.ready) w.sawNotReady = true;
        if (body.ready && w.sawNotReady && w.readyAgainAt === 0) w.readyAgainAt = Date.now();
        for (const reason of body.reasons) w.reasons.add(reason);
      },
      () => undefined,
    );
  }, 50);
  return w;
}

/** Posts into a channel one after another until stopped; a failed call is retried with its pending_post_id. */
function postFlow(u: TestUser, channelId: string): { ids: string[]; stop(): Promise<void> } {
  const ids: string[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const pending = `${u.id}:${Date.now()}:${i}`;
      for (;;) {
        try {
          ids.push((await u.client.createPost({ channel_id: channelId, message: `flow ${i}`, pending_post_id: pending })).id);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    ids,
    async stop() {
      running = false;
      await done;
    },
  };
}

async function channel(name: string, members: TestUser[]): Promise<string> {
  const ch = await alice.client.createChannel({ team_id: teamId, name: `${name}${Date.now()}`, display_name: name, type: "O" } as never);
  for (const m of members) await alice.client.addToChannel(m.id, ch.id);
  return ch.id;
}

async function rec(gatewayUrl: string, u: TestUser): Promise<Recorder> {
  const r = await connect(gatewayUrl, u.token);
  open.push(r);
  return r;
}

/** Every post of `ids` reached the recorder once, in order; its seq is consecutive and it never resynced. */
async function expectEveryPost(r: Recorder, channelId: string, ids: string[]): Promise<void> {
  await waitFor(() => r.named("posted").filter((e) => e.broadcast?.channel_id === channelId).length >= ids.length, {
    timeoutMs: 30_000,
    what: `${ids.length} posts`,
  });
  expect(
    r
      .named("posted")
      .filter((e) => e.broadcast?.channel_id === channelId)
      .map((e) => postOf(e).id),
  ).toEqual(ids);
  const s = seqs(r);
  expect(s).toEqual(s.map((_, i) => i));
  expect(r.named("hello")).toHaveLength(1);
  expect(r.missed).toBe(0);
}

describe("nats-server killed and restarted", () => {
  it("readiness goes false then true; every post arrives once, in order, without a resync", async () => {
    const channelId = await channel("restart", [bob, carol]);
    // Bob on the gateway that stays cut off a while after the restart: what was published
    // meanwhile, and nothing after it, reaches him only through the read-back from the stream.
    const b = await rec(cutUrl, bob);
    const c = await rec(url, carol);
    const ready = watchReadiness(stack.gateways[0]!.ready.ops_port);
    const cutReady = watchReadiness(cutOff.ready.ops_port);
    const flow = postFlow(alice, channelId);
    let duringCut = 0;
    let killedAtMs = 0;
    let restartedAt = 0;
    try {
      await waitFor(() => flow.ids.length >= 10, { what: "posts flowing" });
      killedAtMs = Date.now();
      await stack.nats.kill();
      proxy.reset();
      await waitFor(() => ready.sawNotReady && cutReady.sawNotReady, { timeoutMs: 10_000, what: "gateways not ready while NATS is down" });
      const killedAt = flow.ids.length;
      restartedAt = Date.now();
      await stack.nats.restart();
      await waitFor(() => ready.ready && flow.ids.length >= killedAt + 10, { timeoutMs: 30_000, what: "gateway ready again, posts flowing" });
      await flow.stop();
      duringCut = flow.ids.length - killedAt;
      await waitFor(() => c.named("posted").filter((e) => e.broadcast?.channel_id === channelId).length === flow.ids.length, {
        timeoutMs: 30_000,
        what: "the connected gateway's client got every post",
      });
      expect(cutReady.ready).toBe(false);
      proxy.restore();
      await waitFor(() => cutReady.ready, { timeoutMs: 30_000, what: "cut-off gateway ready again" });
    } finally {
      await flow.stop();
      ready.stop();
      cutReady.stop();
    }
    console.log(
      `figures: restart: ${flow.ids.length} posts, ${duringCut} after the kill while one gateway was away; not ready ${ready.notReadyAt - killedAtMs} ms after the kill, ready ${ready.readyAgainAt - restartedAt} ms after the restart`,
    );
    expect([...ready.reasons]).toContain("nats not ready");
    expect([...cutReady.reasons]).toContain("nats not ready");
    for (const r of [b, c]) await expectEveryPost(r, channelId, flow.ids);
  });
});

describe("nats-server paused", () => {
  it("the canary makes readiness go false and come back; nothing is missing", async () => {
    const channelId = await channel("pause", [bob, carol]);
    const b = await rec(url, bob);
    const c = await rec(url, carol);
    const ready = watchReadiness(stack.gateways[0]!.ready.ops_port);
    const flow = postFlow(alice, channelId);
    let stoppedAt = 0;
    let continuedAt = 0;
    try {
      await waitFor(() => flow.ids.length >= 10, { what: "posts flowing" });
      stoppedAt = Date.now();
      stack.nats.signal("SIGSTOP");
      try {
        await waitFor(() => ready.sawNotReady, { timeoutMs: 10_000, what: "gateway not ready while NATS is paused" });
      } finally {
        stack.nats.signal("SIGCONT");
        continuedAt = Date.now();
      }
      const during = flow.ids.length;
      await waitFor(() => ready.ready && flow.ids.length >= during + 20, { timeoutMs: 30_000, what: "gateway ready again, posts flowing" });
    } finally {
      await flow.stop();
      ready.stop();
    }
    // The connection stayed up all along: only the canary saw the silence.
    expect([...ready.reasons]).toContain("nats-canary not ready");
    expect([...ready.reasons]).not.toContain("nats not ready");
    console.log(
      `figures: pause: ${flow.ids.length} posts; not ready ${ready.notReadyAt - stoppedAt} ms after SIGSTOP, ready ${ready.readyAgainAt - continuedAt} ms after SIGCONT`,
    );
    for (const r of [b, c]) await expectEveryPost(r, channelId, flow.ids);
  });
});

describe("an outage that lost a channel's last change from the stream too", () => {
  it("is repaired from PostgreSQL after the reconnect, though no later event shows the hole", async () => {
    const channelId = await channel("tail", [bob]);
    const b = await rec(cutUrl, bob);
    const a = await rec(url, alice);
    const ready = watchReadiness(cutOff.ready.ops_port);
    const ids: string[] = [];
    const post = async (m: string) => ids.push((await alice.client.createPost({ channel_id: channelId, message: m })).id);
    try {
      await post("before");
      await b.next((e) => e.event === "posted" && postOf(e).id === ids[0]);
      proxy.reset();
      await waitFor(() => ready.sawNotReady, { timeoutMs: 10_000, what: "cut-off gateway not ready" });
      await post("missed 1");
      await post("missed 2, the last");
      await a.next((e) => e.event === "posted" && postOf(e).id === ids[2]);
      const stored = await readStreamRange(bus, { stream: streams.events.name, start: "all", filterSubjects: [subjects.channel(channelId)] });
      const last = stored.find((m) => new TextDecoder().decode(decodeEvent(m.data).data).includes(ids[2]!));
      expect(await deleteStreamMessage(bus, streams.events.name, last!.seq)).toBe(true);
      proxy.restore();
      await waitFor(() => ready.ready, { timeoutMs: 20_000, what: "cut-off gateway ready again" });
    } finally {
      ready.stop();
    }
    await expectEveryPost(b, channelId, ids);
  });
});

describe("an outage just after a client connected", () => {
  it("reads back to the client only what was published since it connected", async () => {
    const dave = await newUser(url, "dave");
    await alice.client.addToTeam(teamId, dave.id);
    const channelId = await channel("joined", [dave]);
    // Dave's own membership events (added to the team, to the channel) are in the stream
    // before he connects, well within the cut-off gateway's read-back margin.
    await waitFor(
      async () => (await readStreamRange(bus, { stream: streams.events.name, start: "all", filterSubjects: [subjects.user(dave.id)] })).length >= 2,
      { what: "dave's membership events stored" },
    );
    const d = await rec(cutUrl, dave);
    const ready = watchReadiness(cutOff.ready.ops_port);
    const ids: string[] = [];
    try {
      proxy.reset();
      await waitFor(() => ready.sawNotReady, { timeoutMs: 10_000, what: "cut-off gateway not ready" });
      ids.push((await alice.client.createPost({ channel_id: channelId, message: "while cut off" })).id);
      proxy.restore();
      await waitFor(() => ready.ready, { timeoutMs: 20_000, what: "cut-off gateway ready again" });
    } finally {
      ready.stop();
    }
    await expectEveryPost(d, channelId, ids);
    // Published before his hello: what he loads over REST, not events to replay.
    expect(d.events.filter((e) => e.event === "added_to_team" || e.event === "user_added").map((e) => e.event)).toEqual([]);
  });
});

describe("an outage past the stream's retention", () => {
  it("forces exactly the connections of the cut-off gateway to resync", async () => {
    const channelId = await channel("purge", [bob, carol]);
    const a = await rec(cutUrl, alice);
    const b = await rec(cutUrl, bob);
    const c = await rec(url, carol);
    const inChannel = (r: Recorder) => r.named("posted").filter((e) => e.broadcast?.channel_id === channelId);
    const firstId = (r: Recorder) => (r.named("hello")[0]!.data as { connection_id: string }).connection_id;
    const ready = watchReadiness(cutOff.ready.ops_port);
    const ids: string[] = [];
    const post = async (m: string) => ids.push((await alice.client.createPost({ channel_id: channelId, message: m })).id);
    try {
      await post("before");
      for (const r of [a, b, c]) await r.next((e) => e.event === "posted" && postOf(e).id === ids[0]);
      proxy.reset();
      await waitFor(() => ready.sawNotReady, { timeoutMs: 10_000, what: "cut-off gateway not ready" });
      await post("lost 1");
      await waitFor(() => inChannel(c).length === 2, { what: "the other gateway's client got the post" });
      expect(await purgeStream(bus, streams.events.name)).toBeGreaterThan(0);
      await post("lost 2");
      await waitFor(() => inChannel(c).length === 3, { what: "the other gateway's client got the post" });
      proxy.restore();
      for (const r of [a, b]) await waitFor(() => r.named("hello").length === 2, { timeoutMs: 20_000, what: "a new hello on the cut-off gateway" });
      await post("after");
    } finally {
      ready.stop();
    }
    for (const r of [a, b]) {
      const second = r.named("hello")[1]!;
      expect((second.data as { connection_id: string }).connection_id).not.toBe(firstId(r));
      expect(r.missed).toBe(1);
      await r.next((e) => e.event === "posted" && postOf(e).id === ids.at(-1));
    }
    // The resynced clients got the post before the outage, and the one after their new hello: what
    // lies between, they reload (the stock client's missed-message path).
    for (const r of [a, b]) expect(inChannel(r).map((e) => postOf(e).id)).toEqual([ids[0], ids[3]]);
    await expectEveryPost(c, channelId, ids);
  });
});
