/**
 * NATS authorization, end to end: a nats-server configured by the generator
 * (@switchboard/bus nats-config), every deployable with its own user, and the stock
 * @mattermost/client on a gateway. A forged event, published with no credentials or with any
 * component's credentials but its family's publisher's, is refused by nats-server and never
 * reaches a socket; so are session revocations, outbox wake-ups, and the JetStream API of
 * streams and buckets a component does not own. An allowed publisher that sends a kind its
 * family does not carry, or addresses it elsewhere, is dropped by the gateway's hub.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBus, decodeEvent, encodeEvent, readStreamRange, streams, subjects, type Bus, type BusStatusEvent, type NatsRole } from "@switchboard/bus";
import { newEvent, newId } from "@switchboard/model";
import { startStack, waitFor, type Stack } from "@switchboard/testkit";
import { connect, newUser, postOf, type Recorder, type TestUser } from "./support.js";

let stack: Stack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let teamId: string;
let channelId: string;
let a: Recorder;
const buses: Bus[] = [];
/** Each bus's permission errors, as the server reported them to it. */
const refusals = new Map<Bus, string[]>();

async function busAs(role: NatsRole): Promise<Bus> {
  const heard: string[] = [];
  const bus = await connectBus({
    ...stack.nats.as(role),
    name: `forger/${role}`,
    onStatus: (s: BusStatusEvent) => {
      if (s.error) heard.push(s.error.message);
    },
  });
  refusals.set(bus, heard);
  buses.push(bus);
  return bus;
}

/** What the gateway counts as refused by its hub, by family. */
async function hubRefused(family: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${String(stack.gateways[0]!.ready.ops_port)}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`sb_gateway_refused_events_total{family="${family}"`));
  return line ? Number(line.split(" ").pop()) : 0;
}

const forgedText = "forged by someone who is not posts";

/** What a posted event about a forged post carries. */
function forgedPostData(): Record<string, unknown> {
  return { post: JSON.stringify({ id: newId(), channel_id: channelId, user_id: bob.id, message: forgedText }), channel_type: "P" };
}

/** A posted event as posts would publish it, for the private channel. */
function forgedPost(): ReturnType<typeof newEvent> {
  return newEvent({ event: "posted", data: forgedPostData(), broadcast: { channelId } });
}

beforeAll(async () => {
  // A server of its own: the test reads what it refused, and it knows the stack's one presence bucket.
  stack = await startStack({ ownNats: true });
  url = stack.gatewayUrls[0]!;
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
  const team = await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never);
  teamId = team.id;
  await alice.client.addToTeam(teamId, bob.id);
  const ch = await alice.client.createChannel({ team_id: teamId, name: `private${Date.now()}`, display_name: "Private", type: "P" } as never);
  channelId = ch.id;
  await alice.client.addToChannel(bob.id, channelId);
  a = await connect(url, alice.token);
});

afterAll(async () => {
  a?.close();
  for (const b of buses) await b.close();
  await stack?.stop();
});

describe("nats-server refuses what a user may not do", () => {
  it("refuses a client without credentials, or with a wrong password", async () => {
    await expect(connectBus({ servers: stack.nats.url, name: "anonymous" })).rejects.toThrow(/Authorization Violation/);
    await expect(connectBus({ servers: stack.nats.url, name: "guesser", user: "posts", pass: "not-the-password" })).rejects.toThrow(/Authorization Violation/);
    // Another component's password does not open posts's user either.
    await expect(connectBus({ servers: stack.nats.url, name: "borrower", user: "posts", pass: stack.nats.as("gateway").pass })).rejects.toThrow(
      /Authorization Violation/,
    );
  });

  it("refuses every subject family, session control, outbox wake-ups and foreign JetStream APIs to all but their owner; nothing reaches a socket or the stream", async () => {
    const bucket = stack.presenceBucket;
    // Every subject, and the roles allowed to publish there (`test` may read any stream and
    // inject faults into them, but publishes no event).
    const targets: { subject: string; owners: readonly NatsRole[] }[] = [
      { subject: subjects.channel(channelId), owners: ["posts"] },
      { subject: subjects.user(alice.id), owners: ["posts"] },
      { subject: subjects.team(teamId), owners: ["posts"] },
      { subject: subjects.everyone, owners: ["posts"] },
      { subject: subjects.channelEphemeral(channelId), owners: ["gateway"] },
      { subject: subjects.userStatus(alice.id), owners: ["presence"] },
      { subject: subjects.accountsUser(alice.id), owners: ["accounts"] },
      { subject: subjects.sessionRevoked(alice.id), owners: ["accounts"] },
      { subject: subjects.outboxWake("posts"), owners: ["posts"] },
      // The JetStream API: deleting, purging or reconfiguring a stream is nobody's (posts may
      // only create and update its own), and a bucket is presence's alone.
      { subject: `$JS.API.STREAM.DELETE.${streams.events.name}`, owners: [] },
      { subject: `$JS.API.STREAM.PURGE.${streams.events.name}`, owners: ["test"] },
      { subject: `$JS.API.STREAM.UPDATE.${streams.events.name}`, owners: ["posts"] },
      { subject: `$JS.API.STREAM.DELETE.${streams.control.name}`, owners: [] },
      { subject: `$JS.API.STREAM.UPDATE.${streams.control.name}`, owners: ["accounts"] },
      { subject: `$JS.API.STREAM.MSG.DELETE.${streams.control.name}`, owners: ["test"] },
      { subject: `$JS.API.STREAM.UPDATE.KV_${bucket}`, owners: ["presence"] },
      { subject: `$JS.API.CONSUMER.CREATE.KV_${bucket}`, owners: ["presence", "test"] },
      { subject: `$KV.${bucket}.user.${alice.id}`, owners: ["presence"] },
    ];
    const roles: NatsRole[] = ["gateway", "posts", "accounts", "presence", "test", "bench"];
    const forged = new Set<string>();
    const expected = new Map<Bus, string[]>();
    for (const role of roles) {
      const bus = await busAs(role);
      const mine = targets.filter((t) => !t.owners.includes(role));
      for (const t of mine) {
        const ev = forgedPost();
        forged.add(ev.id);
        bus.publish(t.subject, encodeEvent(ev));
      }
      await bus.flush();
      expected.set(bus, mine.map((t) => `Permissions Violation for Publish to "${t.subject}"`).sort());
    }

    // A fence: a real post after every forgery reaches alice, and nothing forged came before it.
    const fence = await bob.client.createPost({ channel_id: channelId, message: "real" });
    await a.next((e) => e.event === "posted" && postOf(e).id === fence.id);
    expect(a.named("posted").map((e) => postOf(e).message)).toEqual(["real"]);
    expect(a.events.filter((e) => e.event !== "posted" && e.event !== "hello" && e.event !== "status_change")).toEqual([]);
    // The stream stored none of them.
    const reader = await busAs("test");
    const stored = await readStreamRange(reader, { stream: streams.events.name, start: "all" });
    expect(stored.filter((m) => forged.has(decodeEvent(m.data).id))).toEqual([]);

    // The server answered each refused publish with an error to its publisher (before the
    // flush's answer), and logged it.
    for (const [bus, want] of expected) {
      await waitFor(() => refusals.get(bus)!.length >= want.length, { timeoutMs: 5_000, what: "every refusal heard" }).catch(() => undefined);
      expect(refusals.get(bus)!.sort()).toEqual(want);
    }
    // The log reaches us after the error reached the publisher: wait for it, then count.
    const logged = () => stack.nats.violations().filter((l) => l.includes("Publish Violation")).length;
    await waitFor(() => logged() >= forged.size, { timeoutMs: 5_000, what: "every refusal logged" }).catch(() => undefined);
    expect(logged()).toBe(forged.size);
  });

  it("refuses a component's subscription to what it has no business reading", async () => {
    const gw = await busAs("gateway");
    gw.subscribe(subjects.allSessionControl, () => undefined);
    gw.subscribe("_INBOX.posts.>", () => undefined);
    const presence = await busAs("presence");
    presence.subscribe(subjects.allEvents, () => undefined);
    await gw.flush();
    await presence.flush();
    await waitFor(() => refusals.get(gw)!.length >= 2 && refusals.get(presence)!.length >= 1, { timeoutMs: 5_000, what: "subscription refusals" });
    expect(refusals.get(gw)!.sort()).toEqual(
      [`Permissions Violation for Subscription to "${subjects.allSessionControl}"`, `Permissions Violation for Subscription to "_INBOX.posts.>"`].sort(),
    );
    expect(refusals.get(presence)).toEqual([`Permissions Violation for Subscription to "${subjects.allEvents}"`]);
  });
});

describe("the hub accepts from each family only its own kinds, for its own subject", () => {
  it("drops a kind the family does not carry, or an event addressed beyond its subject; delivers the family's own", async () => {
    const [gateway, presence, accounts] = [await busAs("gateway"), await busAs("presence"), await busAs("accounts")];
    const before = { eph: await hubRefused("eph"), status: await hubRefused("status"), acct: await hubRefused("acct") };
    const otherChannel = newId();
    // Allowed publishers, wrong kinds or wrong addressees:
    gateway.publish(subjects.channelEphemeral(channelId), encodeEvent(forgedPost()));
    gateway.publish(
      subjects.channelEphemeral(channelId),
      encodeEvent(newEvent({ event: "typing", data: { parent_id: "", user_id: bob.id }, broadcast: { channelId: otherChannel } })),
    );
    presence.publish(subjects.userStatus(alice.id), encodeEvent(newEvent({ event: "posted", data: forgedPostData(), broadcast: { userId: alice.id } })));
    presence.publish(
      subjects.userStatus(alice.id),
      encodeEvent(newEvent({ event: "status_change", data: { status: "dnd", user_id: bob.id }, broadcast: { userId: bob.id } })),
    );
    accounts.publish(subjects.accountsUser(alice.id), encodeEvent(newEvent({ event: "posted", data: forgedPostData(), broadcast: { userId: alice.id } })));
    accounts.publish(
      subjects.accountsUser(alice.id),
      encodeEvent(newEvent({ event: "preferences_changed", data: { preferences: "[]" }, broadcast: { channelId } })),
    );
    // Then, from the same connections (NATS keeps each publisher's order), the families' own kinds.
    gateway.publish(
      subjects.channelEphemeral(channelId),
      encodeEvent(newEvent({ event: "typing", data: { parent_id: "", user_id: bob.id }, broadcast: { channelId, omitUsers: [bob.id] } })),
    );
    presence.publish(
      subjects.userStatus(alice.id),
      encodeEvent(newEvent({ event: "status_change", data: { status: "away", user_id: alice.id, marker: "allowed" }, broadcast: { userId: alice.id } })),
    );
    accounts.publish(
      subjects.accountsUser(alice.id),
      encodeEvent(newEvent({ event: "preferences_changed", data: { preferences: "[]", marker: "allowed" }, broadcast: { userId: alice.id } })),
    );
    for (const b of [gateway, presence, accounts]) await b.flush();
    await a.next((e) => e.event === "typing" && e.broadcast?.channel_id === channelId);
    await a.next((e) => e.event === "status_change" && e.data?.marker === "allowed");
    await a.next((e) => e.event === "preferences_changed" && e.data?.marker === "allowed");
    expect(a.named("posted").filter((e) => postOf(e).message === forgedText)).toEqual([]);
    expect(a.named("typing")).toHaveLength(1);
    expect(a.named("preferences_changed")).toHaveLength(1);
    expect(a.named("status_change").filter((e) => e.data?.status === "dnd")).toEqual([]);
    expect(await hubRefused("eph")).toBe(before.eph + 2);
    expect(await hubRefused("status")).toBe(before.status + 2);
    expect(await hubRefused("acct")).toBe(before.acct + 2);
    // None of it was refused by nats-server: each publisher used its own family.
    for (const b of [gateway, presence, accounts]) expect(refusals.get(b)).toEqual([]);
  });
});
