/**
 * A hole in a channel's live sequence is repaired, never passed on: the gateway misses one
 * event live (failpoint gateway.drop_live_channel_seq.5: core NATS delivery is at most once),
 * the next event of the channel shows the hole, and the missed event is read back from the
 * stream; when the stream lost it too (deleted behind the gateway's back, a stand-in for
 * JetStream losing an acknowledged write), from PostgreSQL through posts. Clients get every
 * post once, in order, with consecutive seq and no resync.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBus, decodeEvent, deleteStreamMessage, readStreamRange, streams, subjects, type Bus } from "@switchboard/bus";
import { startStack, waitFor, type Stack } from "@switchboard/testkit";
import { connect, newUser, postOf, seqs, type Recorder, type TestUser } from "./support.js";

/** The channel_seq the gateway drops live, once per channel (creation is 1, adding bob 2, posts 3, 4, 5, ...). */
const DROPPED_SEQ = 5;

let stack: Stack;
let url: string;
let bus: Bus;
let alice: TestUser;
let bob: TestUser;
let teamId: string;
const open: Recorder[] = [];

/** The sum of a metric's series on the gateway, those with `label` (e.g. `source="database"`) if given. */
async function metric(name: string, label = ""): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${String(stack.gateways[0]!.ready.ops_port)}/metrics`)).text();
  const lines = text.split("\n").filter((l) => (l.startsWith(name + " ") || l.startsWith(name + "{")) && l.includes(label));
  return lines.reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { SB_FAILPOINTS: `gateway.drop_live_channel_seq.${DROPPED_SEQ}` } });
  url = stack.gatewayUrls[0]!;
  bus = await connectBus({ ...stack.nats.as("test"), name: "live-gap-test" });
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
  teamId = (await alice.client.createTeam({ name: `gap${Date.now()}`, display_name: "Gap", type: "O" } as never)).id;
  await alice.client.addToTeam(teamId, bob.id);
});

afterAll(async () => {
  for (const r of open) r.close();
  await bus?.close();
  await stack?.stop();
});

/** A channel of alice and bob with both connected; returns its id and the recorders. */
async function channelWithClients(name: string): Promise<{ channelId: string; a: Recorder; b: Recorder }> {
  const ch = await alice.client.createChannel({ team_id: teamId, name: `${name}${Date.now()}`, display_name: name, type: "O" } as never);
  await alice.client.addToChannel(bob.id, ch.id);
  const a = await connect(url, alice.token);
  const b = await connect(url, bob.token);
  open.push(a, b);
  return { channelId: ch.id, a, b };
}

/** The stream's copy of the channel's event with this channel_seq (waits for the relay to publish it). */
async function streamSeqOf(channelId: string, channelSeq: number): Promise<number> {
  return waitFor(
    async () => {
      const msgs = await readStreamRange(bus, { stream: streams.events.name, start: "all", filterSubjects: [subjects.channel(channelId)] });
      return msgs.find((m) => decodeEvent(m.data).channelSeq === BigInt(channelSeq))?.seq;
    },
    { what: `channel_seq ${channelSeq} in the stream` },
  );
}

async function expectAllDelivered(rs: Recorder[], channelId: string, ids: string[]): Promise<void> {
  for (const r of rs) {
    for (const id of ids) await r.next((e) => e.event === "posted" && postOf(e).id === id, { timeoutMs: 15_000 });
    const got = r
      .named("posted")
      .filter((e) => e.broadcast?.channel_id === channelId)
      .map((e) => postOf(e).id);
    expect(got).toEqual(ids);
    const s = seqs(r);
    expect(s).toEqual(s.map((_, i) => i));
    expect(r.named("hello")).toHaveLength(1);
    expect(r.missed).toBe(0);
  }
}

describe("a hole in a channel's live sequence", () => {
  it("is detected by the next event and repaired from the stream", async () => {
    const { channelId, a, b } = await channelWithClients("fromstream");
    const before = await metric("sb_gateway_backfilled_events_total");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await alice.client.createPost({ channel_id: channelId, message: `s${i}` })).id);
    await expectAllDelivered([a, b], channelId, ids);
    expect(await metric("sb_gateway_channel_gaps_total")).toBeGreaterThanOrEqual(1);
    expect(await metric("sb_gateway_backfilled_events_total")).toBeGreaterThan(before);
  });

  it("is repaired from PostgreSQL when the stream lost the event too", async () => {
    const { channelId, a, b } = await channelWithClients("fromdb");
    const before = await metric("sb_gateway_backfilled_events_total", 'source="database"');
    const ids: string[] = [];
    // Posts take channel_seq 3, 4, 5: the gateway drops 5 live.
    for (let i = 0; i < 3; i++) ids.push((await alice.client.createPost({ channel_id: channelId, message: `d${i}` })).id);
    expect(await deleteStreamMessage(bus, streams.events.name, await streamSeqOf(channelId, DROPPED_SEQ))).toBe(true);
    for (let i = 3; i < 5; i++) ids.push((await alice.client.createPost({ channel_id: channelId, message: `d${i}` })).id);
    await expectAllDelivered([a, b], channelId, ids);
    expect(await metric("sb_gateway_backfilled_events_total", 'source="database"')).toBeGreaterThan(before);
    expect(await metric("sb_gateway_channel_gaps_unrepaired_total")).toBe(0);
  });
});
