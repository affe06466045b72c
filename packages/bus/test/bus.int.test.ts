import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNatsServer, waitFor, type NatsServer } from "@switchboard/testkit";
import { newEvent, newId } from "@switchboard/model";
import {
  connectBus,
  decodeEvent,
  encodeEvent,
  ensureStream,
  eventStreamSpec,
  followStream,
  KvConflictError,
  openKv,
  publishDurable,
  readStreamRange,
  subjects,
  type Bus,
} from "../src/index.js";

let nats: NatsServer;
let bus: Bus;

beforeAll(async () => {
  // A server of its own: its SB_EVT is kept in memory, which the shared server's (on file) cannot be.
  nats = await startNatsServer();
  bus = await connectBus({ servers: nats.url, name: "bus-test" });
  await ensureStream(bus, eventStreamSpec({ maxAgeMs: 60_000, storage: "memory" }));
});

afterAll(async () => {
  await bus?.close();
  await nats?.stop();
});

describe("bus", () => {
  it("rejects ids that could inject wildcards into a subject", () => {
    expect(() => subjects.channel("*")).toThrow();
    expect(() => subjects.channel(">")).toThrow();
    expect(() => subjects.channel("a".repeat(25) + ".")).toThrow();
    expect(subjects.channel("a".repeat(26))).toBe(`sb.evt.channel.${"a".repeat(26)}`);
  });

  it("stores a re-published event once and reports the duplicate", async () => {
    const ch = newId();
    const ev = newEvent({ event: "posted", data: { x: 1 }, broadcast: { channelId: ch } });
    const got: string[] = [];
    const sub = bus.subscribe(subjects.channel(ch), (m) => got.push(decodeEvent(m.data).id));
    const a = await publishDurable(bus, subjects.channel(ch), encodeEvent(ev), { msgId: ev.id });
    const b = await publishDurable(bus, subjects.channel(ch), encodeEvent(ev), { msgId: ev.id });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    expect(b.seq).toBe(a.seq);
    const stored = await readStreamRange(bus, { stream: "SB_EVT", filterSubjects: [subjects.channel(ch)], start: "all" });
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
    expect(acks.every((a) => a.stream === "SB_EVT" && !a.duplicate)).toBe(true);
    const stored = await readStreamRange(bus, { stream: "SB_EVT", filterSubjects: [subjects.channel(ch)], start: "all" });
    // Each ack names the stream position of its own message.
    const bySeq = new Map(stored.map((m) => [m.seq, decodeEvent(m.data).id]));
    expect(acks.map((a) => bySeq.get(a.seq))).toEqual(evs.map((ev) => ev.id));
  });

  it("fails a durable publish clearly: no stream, no ack in time, connection closed", async () => {
    await expect(publishDurable(bus, "sb.nostream.x", new Uint8Array([1]), { msgId: newId() })).rejects.toThrow(/no stream takes this subject/);
    // A core subscriber takes the message but nothing acks it.
    const silent = bus.subscribe("sb.silent.x", () => undefined);
    try {
      const t0 = Date.now();
      await expect(publishDurable(bus, "sb.silent.x", new Uint8Array([1]), { msgId: newId(), timeoutMs: 300 })).rejects.toThrow(/timed out/);
      expect(Date.now() - t0).toBeLessThan(2_000);
      const other = await connectBus({ servers: nats.url, name: "bus-test-close" });
      const waiting = publishDurable(other, "sb.silent.x", new Uint8Array([1]), { msgId: newId(), timeoutMs: 60_000 });
      await other.close();
      await expect(waiting).rejects.toThrow(/closed/);
      await expect(publishDurable(other, "sb.silent.x", new Uint8Array([1]), { msgId: newId() })).rejects.toThrow(/closed/);
    } finally {
      silent.unsubscribe();
    }
    // The connection still publishes after all that.
    const ev = newEvent({ event: "posted", data: {}, broadcast: { channelId: newId() } });
    await expect(publishDurable(bus, subjects.channel(ev.broadcast!.channelId), encodeEvent(ev), { msgId: ev.id })).resolves.toMatchObject({ duplicate: false });
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
    const r = await followStream(bus, { stream: "SB_EVT", filterSubjects: [subjects.channel(ch)], start: "all", onMessage: (m) => seen.push(decodeEvent(m.data).id) });
    await waitFor(() => seen.length === 5);
    const more = newEvent({ event: "posted", data: {}, broadcast: { channelId: ch } });
    await publishDurable(bus, subjects.channel(ch), encodeEvent(more), { msgId: more.id });
    await waitFor(() => seen.length === 6);
    expect(seen).toEqual([...ids, more.id]);
    await r.stop();
  });

  it("KV compare-and-set refuses a stale revision", async () => {
    const kv = await openKv(bus, { bucket: "sb_test_kv", storage: "memory" });
    const r1 = await kv.create("k", new TextEncoder().encode("1"));
    await expect(kv.create("k", new Uint8Array())).rejects.toBeInstanceOf(KvConflictError);
    const r2 = await kv.update("k", new TextEncoder().encode("2"), r1);
    await expect(kv.update("k", new TextEncoder().encode("3"), r1)).rejects.toBeInstanceOf(KvConflictError);
    expect((await kv.get("k"))?.revision).toBe(r2);
    expect(await kv.keys()).toEqual(["k"]);
  });
});
