import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { startNatsServer, waitFor, type NatsServer } from "@switchboard/testkit";
import { newEvent, newId } from "@switchboard/model";
import {
  connectBus,
  controlStreamSpec,
  decodeEvent,
  deleteStreamMessage,
  encodeEvent,
  ensureStream,
  eventStreamSpec,
  followStream,
  isolatedBucket,
  isStreamNotFound,
  KvConflictError,
  kvBuckets,
  openKv,
  parseEventSubject,
  publishDurable,
  purgeStream,
  readStreamRange,
  streamState,
  streams,
  subjects,
  type Bus,
  type BusStatusEvent,
} from "../src/index.js";

let nats: NatsServer;
let bus: Bus;
let tester: Bus;

beforeAll(async () => {
  // A server of its own: its SB_EVT is kept in memory, which the shared server's (on file) cannot be.
  nats = await startNatsServer();
  bus = await connectBus({ ...nats.as("posts"), name: "bus-test" });
  // Fault injection (deleting and purging stored events) is the test user's alone.
  tester = await connectBus({ ...nats.as("test"), name: "bus-test-faults" });
  await ensureStream(bus, eventStreamSpec({ maxAgeMs: 60_000, storage: "memory" }));
});

afterAll(async () => {
  await bus?.close();
  await tester?.close();
  await nats?.stop();
});

describe("bus", () => {
  it("rejects ids that could inject wildcards into a subject", () => {
    expect(() => subjects.channel("*")).toThrow();
    expect(() => subjects.channel(">")).toThrow();
    expect(() => subjects.channel("a".repeat(25) + ".")).toThrow();
    expect(parseEventSubject(subjects.channel("a".repeat(26)))).toEqual({ family: "evt", scope: "channel", id: "a".repeat(26) });
  });

  it("stores a re-published event once and reports the duplicate", async () => {
    const ch = newId();
    const ev = newEvent({ event: "posted", data: { x: 1 }, broadcast: { channelId: ch } });
    const got: string[] = [];
    const sub = tester.subscribe(subjects.channel(ch), (m) => got.push(decodeEvent(m.data).id));
    await tester.flush();
    const a = await publishDurable(bus, subjects.channel(ch), encodeEvent(ev), { msgId: ev.id });
    const b = await publishDurable(bus, subjects.channel(ch), encodeEvent(ev), { msgId: ev.id });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    expect(b.seq).toBe(a.seq);
    const stored = await readStreamRange(bus, { stream: streams.events.name, filterSubjects: [subjects.channel(ch)], start: "all" });
    expect(stored.map((m) => decodeEvent(m.data).id)).toEqual([ev.id]);
    // Core subscribers see every publish attempt (the duplicate too): dedupe is by event id.
    await waitFor(() => got.length >= 1);
    sub.unsubscribe();
  });

  it("keeps many durable publishes in flight and matches every ack to its publish", async () => {
    const ch = newId();
    const evs = Array.from({ length: 200 }, (_, i) => newEvent({ event: "posted", data: { i }, broadcast: { channelId: ch } }));
    const acks = await Promise.all(evs.map((ev) => publishDurable(bus, subjects.channel(ch), encodeEvent(ev), { msgId: ev.id })));
    expect(new Set(acks.map((a) => a.seq)).size).toBe(200);
    expect(acks.every((a) => a.stream === streams.events.name && !a.duplicate)).toBe(true);
    const stored = await readStreamRange(bus, { stream: streams.events.name, filterSubjects: [subjects.channel(ch)], start: "all" });
    // Each ack names the stream position of its own message.
    const bySeq = new Map(stored.map((m) => [m.seq, decodeEvent(m.data).id]));
    expect(acks.map((a) => bySeq.get(a.seq))).toEqual(evs.map((ev) => ev.id));
  });

  it("fails a durable publish clearly: no stream, no ack in time, connection closed", async () => {
    // Outbox wake-ups are core NATS only: no stream takes them.
    await expect(publishDurable(bus, subjects.outboxWake("bus_test"), new Uint8Array([1]), { msgId: newId() })).rejects.toMatchObject({
      reason: "no_stream",
      message: expect.stringMatching(/no stream takes this subject/) as unknown,
    });
    // A core subscriber takes the message but nothing acks it.
    const silentSubject = subjects.outboxWake("bus_test_silent");
    const silent = bus.subscribe(silentSubject, () => undefined);
    try {
      const t0 = Date.now();
      await expect(publishDurable(bus, silentSubject, new Uint8Array([1]), { msgId: newId(), timeoutMs: 300 })).rejects.toMatchObject({
        reason: "timeout",
        message: expect.stringMatching(/timed out/) as unknown,
      });
      expect(Date.now() - t0).toBeLessThan(2_000);
      const other = await connectBus({ ...nats.as("posts"), name: "bus-test-close" });
      const waiting = publishDurable(other, silentSubject, new Uint8Array([1]), { msgId: newId(), timeoutMs: 60_000 });
      await other.close();
      await expect(waiting).rejects.toMatchObject({ reason: "closed", message: expect.stringMatching(/closed/) as unknown });
      await expect(publishDurable(other, silentSubject, new Uint8Array([1]), { msgId: newId() })).rejects.toMatchObject({ reason: "closed" });
    } finally {
      silent.unsubscribe();
    }
    // The connection still publishes after all that.
    const ev = newEvent({ event: "posted", data: {}, broadcast: { channelId: newId() } });
    await expect(publishDurable(bus, subjects.channel(ev.broadcast!.channelId), encodeEvent(ev), { msgId: ev.id })).resolves.toMatchObject({
      duplicate: false,
    });
  });

  it("follows a subject from a point in the stream", async () => {
    const ch = newId();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const ev = newEvent({ event: "posted", data: { i }, broadcast: { channelId: ch } });
      ids.push(ev.id);
      await publishDurable(bus, subjects.channel(ch), encodeEvent(ev), { msgId: ev.id });
    }
    const seen: string[] = [];
    const r = await followStream(bus, {
      stream: streams.events.name,
      filterSubjects: [subjects.channel(ch)],
      start: "all",
      onMessage: (m) => seen.push(decodeEvent(m.data).id),
    });
    await waitFor(() => seen.length === 5);
    const more = newEvent({ event: "posted", data: {}, broadcast: { channelId: ch } });
    await publishDurable(bus, subjects.channel(ch), encodeEvent(more), { msgId: more.id });
    await waitFor(() => seen.length === 6);
    expect(seen).toEqual([...ids, more.id]);
    await r.stop();
  });

  it("KV compare-and-set refuses a stale revision", async () => {
    const kvBus = await connectBus({ ...nats.as("presence"), name: "bus-test-kv" });
    onTestFinished(() => kvBus.close());
    const kv = await openKv(kvBus, { bucket: isolatedBucket(kvBuckets.scratch, "bus"), storage: "memory" });
    const r1 = await kv.create("k", new TextEncoder().encode("1"));
    await expect(kv.create("k", new Uint8Array())).rejects.toBeInstanceOf(KvConflictError);
    const r2 = await kv.update("k", new TextEncoder().encode("2"), r1);
    await expect(kv.update("k", new TextEncoder().encode("3"), r1)).rejects.toBeInstanceOf(KvConflictError);
    expect((await kv.get("k"))?.revision).toBe(r2);
    expect(await kv.keys()).toEqual(["k"]);
    await expect(kv.delete("k", r1)).rejects.toBeInstanceOf(KvConflictError);
    await kv.delete("k", r2);
    expect(await kv.get("k")).toBeNull();
  });

  it("creates a stream once when several processes ensure it at the same time, and tells a missing stream by its error code", async () => {
    await expect(streamState(bus, streams.control.name)).rejects.toSatisfy(isStreamNotFound);
    const buses = await Promise.all(Array.from({ length: 6 }, (_, i) => connectBus({ ...nats.as("accounts"), name: `bus-test-race-${String(i)}` })));
    try {
      // Each connection's JetStream manager is ready, so the calls below start together: all
      // read the stream's info (not found), then all add it, each with settings of its own.
      // One creates it; the server tells the others by code 10058 that the name is in use
      // with other settings, and they update it instead.
      for (const b of buses) await expect(streamState(b, streams.control.name)).rejects.toSatisfy(isStreamNotFound);
      const created = await Promise.all(buses.map((b, i) => ensureStream(b, controlStreamSpec({ maxAgeMs: 60_000 + i * 1_000, storage: "memory" }))));
      expect(created.filter(Boolean)).toHaveLength(1);
      expect((await streamState(bus, streams.control.name)).messages).toBe(0);
    } finally {
      await Promise.all(buses.map((b) => b.close()));
    }
  });

  it("tells when a stream was created and what left its head: a deleted message, a purge", async () => {
    const ch = newId();
    const before = Date.now();
    const published: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ev = newEvent({ event: "posted", data: { i }, broadcast: { channelId: ch } });
      published.push((await publishDurable(bus, subjects.channel(ch), encodeEvent(ev), { msgId: ev.id })).seq);
    }
    const st = await streamState(bus, streams.events.name);
    expect(st.createdMs).toBeGreaterThan(0);
    expect(st.createdMs).toBeLessThanOrEqual(before);
    expect(st.lastSeq).toBe(published[2]);
    expect(st.lastTimeMs).toBeGreaterThanOrEqual(before - 1_000);
    expect(await deleteStreamMessage(tester, streams.events.name, published[1]!)).toBe(true);
    expect(await deleteStreamMessage(tester, streams.events.name, published[1]!)).toBe(false);
    const left = await readStreamRange(bus, { stream: streams.events.name, filterSubjects: [subjects.channel(ch)], start: "all" });
    expect(left.map((m) => m.seq)).toEqual([published[0], published[2]]);
    expect(await purgeStream(tester, streams.events.name, subjects.channel(ch))).toBe(2);
    expect(await purgeStream(tester, streams.events.name)).toBeGreaterThanOrEqual(0);
    const empty = await streamState(bus, streams.events.name);
    expect(empty.messages).toBe(0);
    expect(empty.firstTimeMs).toBe(0);
    expect(empty.firstSeq).toBe(empty.lastSeq + 1);
    // The gateway's retention check relies on this: an emptied stream still tells when it last stored.
    expect(empty.lastTimeMs).toBe(st.lastTimeMs);
  });

  it("tells every status listener of a disconnection and of the reconnect", async () => {
    const own = await startNatsServer();
    const b = await connectBus({ ...own.as("test"), name: "bus-status-test" });
    const heard: BusStatusEvent["state"][] = [];
    const off = b.onStatus((s) => heard.push(s.state));
    try {
      await own.kill();
      await waitFor(() => heard.includes("disconnected") && !b.connected, { what: "disconnection heard" });
      await own.restart();
      await waitFor(() => heard.at(-1) === "connected" && b.connected, { timeoutMs: 15_000, what: "reconnect heard" });
      off();
      const n = heard.length;
      await own.kill();
      await waitFor(() => !b.connected, { what: "second disconnection" });
      expect(heard).toHaveLength(n);
    } finally {
      await b.close();
      await own.stop();
    }
  });

  it("shows no NATS connection through a Bus", () => {
    for (const k of Object.keys(bus)) {
      const v = (bus as unknown as Record<string, unknown>)[k];
      const connectionLike = typeof v === "object" && v !== null && "getServer" in v && "isClosed" in v && "protocol" in v;
      expect(connectionLike, `Bus.${k} is a NATS connection`).toBe(false);
    }
  });
});
