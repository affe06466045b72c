/**
 * Acceptance: resume on another gateway and the drain, with three gateway processes on one
 * NATS server and the unmodified stock client, whose newWebSocketFn picks the gateway each
 * (re)connect dials, as a load balancer would.
 */
import { connect as tcpConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connectBus, encodeEvent, publishDurable, subjects } from "@switchboard/bus";
import { newEvent, newId } from "@switchboard/model";
import { sleep, startStack, waitFor, type ChildHandle, type Client4, type Stack } from "@switchboard/testkit";
import { roam, type RoamOptions, type Roamer } from "./roaming-client.js";
import { newUser, postOf, type TestUser } from "./support.js";

const PRESTOP_MS = 2_500;
const SPREAD_MS = 1_000;
const HANDOVER_MS = 8_000;
const DEADLINE_MS = 20_000;

let stack: Stack;
let g: string[];
let alice: TestUser;
let teamId: string;
const open: Roamer[] = [];
const consoleLog = vi.spyOn(console, "log");

/** How often the stock client said it missed an event (it then reconnects to have it replayed). */
const missedLogs = () => consoleLog.mock.calls.filter((c) => /missed websocket event/.test(String(c[0]))).length;

async function client(first: string, u: TestUser, o: RoamOptions = {}): Promise<Roamer> {
  const r = await roam(first, u.token, o);
  open.push(r);
  return r;
}

/** A channel of alice's with these members. */
async function channelWith(users: TestUser[]): Promise<string> {
  const ch = await alice.client.createChannel({
    team_id: teamId,
    name: `ch${Date.now()}${Math.random().toString(36).slice(2, 6)}`,
    display_name: "C",
    type: "O",
  } as never);
  for (const u of users) await alice.client.addToChannel(u.id, ch.id);
  return ch.id;
}

const flows: { stop(): Promise<string[]> }[] = [];

/**
 * Posts into a channel one after another until stopped (a steady flow, paced by `gapMs`);
 * stop() rejects if a post failed.
 */
function postFlow(c: Client4, channelId: string, gapMs: number) {
  const ids: string[] = [];
  let stopped = false;
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      ids.push((await c.createPost({ channel_id: channelId, message: `flow ${i}` })).id);
      await sleep(gapMs);
    }
  })();
  done.catch(() => undefined);
  const flow = {
    ids,
    async stop(): Promise<string[]> {
      stopped = true;
      await done;
      return ids;
    },
  };
  flows.push(flow);
  return flow;
}

const postsIn = (r: Roamer, channelId: string) =>
  r
    .named("posted")
    .filter((e) => postOf(e).channel_id === channelId)
    .map((e) => String(postOf(e).id));

/** Every event's seq, in arrival order. */
const seqsOf = (r: Roamer) => r.events.map((e) => e.seq!);

/** Exactly once, in order, one hello, seq 0, 1, 2, ... across every socket, no missed-event path. */
function expectSeamless(r: Roamer, channelId: string, ids: string[]): void {
  expect(postsIn(r, channelId)).toEqual(ids);
  expect(r.named("hello")).toHaveLength(1);
  expect(r.missed).toBe(0);
  const s = seqsOf(r);
  expect(s).toEqual(s.map((_, i) => i));
}

async function metric(opsPort: unknown, name: string, result: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${String(opsPort)}/metrics`)).text();
  const m = new RegExp(`^${name}\\{[^}]*result="${result}"[^}]*\\} (\\d+)`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** Whether something listens on the port (a fresh TCP connection, not a pooled one). */
function listening(port: unknown): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: "127.0.0.1", port: Number(port) });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

beforeAll(async () => {
  stack = await startStack({
    gateways: 3,
    gatewayEnv: {
      SB_GATEWAY_PRESTOP_DELAY_MS: String(PRESTOP_MS),
      SB_GATEWAY_DRAIN_SPREAD_MS: String(SPREAD_MS),
      SB_GATEWAY_RESUME_HANDOVER_MS: String(HANDOVER_MS),
      SB_GATEWAY_SHUTDOWN_DEADLINE_MS: String(DEADLINE_MS),
      SB_GATEWAY_QUEUE_LIMIT: "4096",
      SB_GATEWAY_REPLAY_EVENTS: "4096",
    },
  });
  g = stack.gatewayUrls;
  // REST goes through gateway 1, which every test leaves running.
  alice = await newUser(g[1]!, "alice");
  const team = await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never);
  teamId = team.id;
});

afterAll(async () => {
  await Promise.allSettled(flows.map((f) => f.stop()));
  for (const r of open) r.close();
  consoleLog.mockRestore();
  await stack?.stop();
});

async function member(prefix: string): Promise<TestUser> {
  const u = await newUser(g[1]!, prefix);
  await alice.client.addToTeam(teamId, u.id);
  return u;
}

describe("resume on another gateway", () => {
  it("after a plain socket drop while posts flow: every post once, seq consecutive, no second hello", async () => {
    const bob = await member("bob");
    const ch = await channelWith([bob]);
    const b = await client(g[0]!, bob);
    const missedBefore = missedLogs();
    const claimedBefore = await metric(stack.gateways[1]!.ready.ops_port, "sb_gateway_resume_claims_total", "claimed");
    const flow = postFlow(alice.client, ch, 20);
    await waitFor(() => postsIn(b, ch).length >= 10, { timeoutMs: 15_000, what: "posts before the drop" });
    b.target = g[1]!;
    const atDrop = flow.ids.length;
    b.drop();
    await waitFor(() => b.reconnects >= 1 && b.socketOf.at(-1) === 1 && postsIn(b, ch).length >= atDrop + 5, {
      timeoutMs: 20_000,
      what: "posts after the resume",
    });
    const ids = await flow.stop();
    await waitFor(() => postsIn(b, ch).includes(ids.at(-1)!), { timeoutMs: 15_000, what: "the last post" });
    expectSeamless(b, ch, ids);
    expect(b.dialled).toEqual([g[0], g[1]]);
    expect(missedLogs()).toBe(missedBefore);
    expect(await metric(stack.gateways[1]!.ready.ops_port, "sb_gateway_resume_claims_total", "claimed")).toBe(claimedBefore + 1);
  });

  it("events both gateways received during the claim reach the client once (merged by event id)", async () => {
    const erin = await member("erin");
    // Reconnecting 10 ms after each drop, so it can hop often.
    const e = await client(g[0]!, erin, { retryMs: 10 });
    // As fast as JetStream takes them, to the user's subject, so that some arrive while both
    // gateways route the user (from the new one's attach to the holder's answer); paused while
    // the client is more than 2,000 behind, so what it lacks stays within what the stack's
    // gateways keep (replay window and queue limit raised for this).
    const bus = await connectBus({ ...stack.nats.as("posts"), name: "test-burst" });
    const sent: string[] = [];
    let stopped = false;
    // Sixteen publishers at once: a flow dense enough that events are often in flight during a claim.
    const publishing = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (!stopped) {
          if (sent.length - e.events.length > 2_000) {
            await sleep(5);
            continue;
          }
          const ev = newEvent({ event: "posted", data: { post: JSON.stringify({ id: newId(), message: "burst" }) }, broadcast: { userId: erin.id } });
          await publishDurable(bus, subjects.user(erin.id), encodeEvent(ev), { msgId: ev.id });
          sent.push(ev.id);
        }
      }),
    );
    const burstIds = () => e.named("posted").map((m) => String(postOf(m).id));
    const connId = String(e.named("hello")[0]!.data!.connection_id);
    const resumes = () => stack.gateways.flatMap((gw) => gw.logs.filter((l) => l.msg === "resumed a connection from another gateway" && l.conn_id === connId));
    const merges = () => resumes().filter((l) => Number(l.merged) > 0).length;
    try {
      // Hop between gateways 0 and 1 until a resume had to merge: it takes events in flight to
      // the new gateway as it attaches, which is a matter of timing (one hop in five to twenty).
      for (let hop = 1; hop <= 200 && merges() === 0; hop++) {
        const before = e.events.length;
        await waitFor(() => e.events.length > before + 20, { timeoutMs: 15_000, what: "events before the hop" });
        e.target = g[hop % 2]!;
        e.drop();
        await waitFor(() => resumes().length >= hop, { timeoutMs: 15_000, what: `resume ${hop}` });
      }
    } finally {
      stopped = true;
      await publishing;
      await bus.close();
    }
    await waitFor(() => burstIds().length >= sent.length, { timeoutMs: 15_000, what: "every burst event" });
    const got = burstIds();
    expect(new Set(got).size).toBe(got.length);
    expect(got.length).toBe(sent.length);
    // The resume under test did merge: both gateways had some of the events.
    const mergesSeen = merges();
    expect(mergesSeen).toBeGreaterThan(0);
    expect(e.named("hello")).toHaveLength(1);
    expect(e.missed).toBe(0);
    const s = seqsOf(e);
    expect(s).toEqual(s.map((_, i) => i));
    console.info(
      `merge: ${sent.length} events over ${e.sockets.length} sockets; merged per resume: ${resumes()
        .map((l) => String(l.merged))
        .join(",")}`,
    );
  });

  it("refuses a claim for another user's connection: the claimant gets a new connection_id, the owner keeps its connection", async () => {
    const carol = await member("carol");
    const dave = await member("dave");
    const ch = await channelWith([carol, dave]);
    const c = await client(g[0]!, carol);
    const d = await client(g[0]!, dave);
    const carolId = String(c.named("hello")[0]!.data!.connection_id);
    const refusedBefore = await metric(stack.gateways[1]!.ready.ops_port, "sb_gateway_resume_claims_total", "refused");
    // dave's client comes back to gateway 1 naming carol's connection (held by gateway 0).
    const dc = d.client as unknown as { connectionId: string; serverSequence: number };
    dc.connectionId = carolId;
    dc.serverSequence = (c.client as unknown as { serverSequence: number }).serverSequence;
    d.target = g[1]!;
    d.drop();
    await waitFor(() => d.named("hello").length === 2, { timeoutMs: 15_000, what: "a new hello for dave" });
    const fresh = String(d.named("hello")[1]!.data!.connection_id);
    expect(fresh).not.toBe(carolId);
    expect(d.named("hello")[1]!.seq).toBe(0);
    expect(d.missed).toBe(1);
    expect(await metric(stack.gateways[1]!.ready.ops_port, "sb_gateway_resume_claims_total", "refused")).toBe(refusedBefore + 1);
    // carol was not disturbed: same socket, next post in sequence.
    const p = await alice.client.createPost({ channel_id: ch, message: "after the refusal" });
    await c.next((e) => e.event === "posted" && postOf(e).id === p.id);
    await d.next((e) => e.event === "posted" && postOf(e).id === p.id);
    expect(c.reconnects).toBe(0);
    expect(c.named("hello")).toHaveLength(1);
    const s = seqsOf(c);
    expect(s).toEqual(s.map((_, i) => i));
  });
});

describe("SIGTERM drains a gateway", () => {
  it("not ready first while still accepting, then 31 clients resume on the others: 0 missing, 0 duplicates, 0 new hellos; exit 0 before the deadline", async () => {
    const users = await Promise.all(Array.from({ length: 6 }, (_, i) => member(`drain${i}`)));
    const ch = await channelWith(users);
    const victim: ChildHandle = stack.gateways[2]!;
    // Five connections per user (tabs), 30 in all, each reconnecting to gateway 0 or 1.
    const clients: Roamer[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await client(g[2]!, users[i % users.length]!, { stockTiming: true });
      r.target = g[i % 2]!;
      clients.push(r);
    }
    const missedBefore = missedLogs();
    const flow = postFlow(alice.client, ch, 25);
    await waitFor(() => clients.every((r) => postsIn(r, ch).length >= 5), { timeoutMs: 15_000, what: "posts before the drain" });

    let notReadyAt = 0;
    let closedAt = 0;
    const sigAt = Date.now();
    victim.signal("SIGTERM");
    const probing = (async () => {
      while (!closedAt) {
        const t = Date.now();
        if (!notReadyAt) {
          const res = await fetch(`http://127.0.0.1:${String(victim.ready.ops_port)}/readyz`).catch(() => undefined);
          if (res && res.status !== 200) notReadyAt = t;
        }
        if (!(await listening(victim.ready.port))) closedAt = Date.now();
        else await sleep(20);
      }
    })();
    // Not ready, yet a new client is still served during the pre-stop delay.
    await waitFor(() => notReadyAt > 0, { timeoutMs: 5_000, what: "readiness false" });
    const late = await client(g[2]!, users[0]!, { stockTiming: true });
    expect(closedAt).toBe(0);
    late.target = g[0]!;
    clients.push(late);

    const code = await victim.exited;
    const exitMs = Date.now() - sigAt;
    await probing;
    await waitFor(() => clients.every((r) => r.reconnects >= 1 && r.named("posted").length > 0 && r.socketOf.at(-1)! >= 1), {
      timeoutMs: 15_000,
      what: "every client back",
    });
    const ids = await flow.stop();
    await waitFor(() => clients.every((r) => postsIn(r, ch).includes(ids.at(-1)!)), { timeoutMs: 15_000, what: "the last post at every client" });

    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(DEADLINE_MS);
    expect(notReadyAt).toBeLessThan(closedAt);
    expect(notReadyAt - sigAt).toBeLessThan(PRESTOP_MS);
    expect(closedAt - sigAt).toBeGreaterThanOrEqual(PRESTOP_MS - 100);
    for (const r of clients.slice(0, -1)) expectSeamless(r, ch, ids);
    const lateGot = postsIn(late, ch);
    expectSeamless(late, ch, ids.slice(ids.indexOf(lateGot[0]!)));
    for (const r of clients) expect(r.dialled.slice(1).every((d) => d !== g[2])).toBe(true);
    expect(missedLogs()).toBe(missedBefore);
    const handover = victim.logs.find((l) => l.msg === "resume handover over");
    expect(handover).toMatchObject({ drained: clients.length, unclaimed: 0 });
    // From each client's own close to its socket on another gateway (stock timing: 3 s + up to 2 s).
    const back = clients.map((r) => r.reopenedAt[0]! - r.closedAt[0]!).sort((x, y) => x - y);
    console.info(
      `drain: not ready after ${notReadyAt - sigAt} ms, listener closed after ${closedAt - sigAt} ms, exit ${code} after ${exitMs} ms; ` +
        `${clients.length} clients back after ${back[0]}-${back.at(-1)} ms from their close, ${ids.length} posts, 0 missing, 0 duplicates, 0 new hellos`,
    );
  });
});

describe("SIGKILL of a gateway", () => {
  it("its clients get a new connection_id on the survivor, never a partial replay; other clients are untouched", async () => {
    const users = await Promise.all(Array.from({ length: 3 }, (_, i) => member(`kill${i}`)));
    const bystanderUser = await member("stay");
    const ch = await channelWith([...users, bystanderUser]);
    const victims: Roamer[] = [];
    for (const u of users) {
      const r = await client(g[0]!, u);
      r.target = g[1]!;
      victims.push(r);
    }
    const bystander = await client(g[1]!, bystanderUser);
    const missedBefore = await metric(stack.gateways[1]!.ready.ops_port, "sb_gateway_resume_claims_total", "missed");
    const flow = postFlow(alice.client, ch, 20);
    await waitFor(() => victims.every((r) => postsIn(r, ch).length >= 5), { timeoutMs: 15_000, what: "posts before the kill" });
    stack.gateways[0]!.signal("SIGKILL");
    await waitFor(
      () => victims.every((r) => r.named("hello").length === 2 && postsIn(r, ch).length > 0 && r.events.at(-1)!.event === "posted" && r.socketOf.at(-1)! >= 1),
      {
        timeoutMs: 20_000,
        what: "every client on a new connection",
      },
    );
    const ids = await flow.stop();
    await waitFor(() => postsIn(bystander, ch).includes(ids.at(-1)!) && victims.every((r) => postsIn(r, ch).includes(ids.at(-1)!)), {
      timeoutMs: 15_000,
      what: "the last post everywhere",
    });
    for (const r of victims) {
      const [first, second] = r.named("hello").map((h) => String(h.data!.connection_id));
      expect(second).not.toBe(first);
      expect(r.missed).toBe(1);
      // On the new socket, hello with seq 0 comes first and the seqs run from there: nothing
      // of the old connection was replayed.
      const last = r.socketOf.at(-1)!;
      const onNew = r.events.filter((_, i) => r.socketOf[i] === last);
      expect(onNew[0]).toMatchObject({ event: "hello", seq: 0 });
      expect(onNew.map((e) => e.seq)).toEqual(onNew.map((_, i) => i));
      const got = postsIn(r, ch);
      expect(new Set(got).size).toBe(got.length);
    }
    expectSeamless(bystander, ch, ids);
    expect(bystander.reconnects).toBe(0);
    expect(await metric(stack.gateways[1]!.ready.ops_port, "sb_gateway_resume_claims_total", "missed")).toBeGreaterThanOrEqual(missedBefore + victims.length);
  });
});
