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
