import { describe, expect, it } from "vitest";
import { encodeEvent, subjects } from "@switchboard/bus";
import { silentLogger } from "@switchboard/log";
import { newEvent, newId } from "@switchboard/model";
import type { Event } from "@switchboard/proto/events";
import { waitFor } from "@switchboard/testkit";
import { Connection } from "../connections/connection.js";
import { NatsRecovery, owedTo, pastRetention, type EventStream } from "./nats-recovery.js";

const T = 1_000_000;
const state = (o: Partial<Parameters<typeof pastRetention>[0]>) => ({
  messages: 10,
  firstSeq: 1,
  lastSeq: 10,
  firstTimeMs: T,
  lastTimeMs: T,
  createdMs: T,
  ...o,
});

describe("whether the stream covers an outage", () => {
  it("does when nothing left its head, or what left is older than the outage", () => {
    expect(pastRetention(state({ firstTimeMs: T + 500 }), T + 1000, T)).toBe(false);
    expect(pastRetention(state({ firstSeq: 50, firstTimeMs: T - 1 }), T + 1000, T)).toBe(false);
    expect(pastRetention(state({ messages: 0, lastSeq: 0, firstTimeMs: 0, lastTimeMs: 0 }), T + 1000, T)).toBe(false);
    expect(pastRetention(state({ messages: 0, firstSeq: 11, firstTimeMs: 0, lastTimeMs: T - 1 }), T + 1000, T)).toBe(false);
  });

  it("does not when its head moved past the outage's start, it was emptied since, or created again", () => {
    expect(pastRetention(state({ firstSeq: 50, firstTimeMs: T + 1 }), T + 1000, T)).toBe(true);
    expect(pastRetention(state({ messages: 0, firstSeq: 11, firstTimeMs: 0, lastTimeMs: T + 1 }), T + 1000, T)).toBe(true);
    expect(pastRetention(state({ messages: 0, firstSeq: 11, firstTimeMs: 0, lastTimeMs: 0 }), T + 1000, T)).toBe(true);
    expect(pastRetention(state({ createdMs: T + 1001 }), T + 1000, T)).toBe(true);
  });
});

describe("the read-back after an outage", () => {
  const CH = newId();
  const SUBJECT = subjects.channel(CH);
  const OTHER = subjects.channel(newId());
  const post = (n: number) => newEvent({ event: "posted", data: { n }, broadcast: { channelId: CH } });
  const stored = (e: Event, subject = SUBJECT, timeMs = Date.now()) => ({ subject, data: encodeEvent(e), timeMs });
  const conn = () =>
    new Connection(newId(), { userId: newId(), sessionId: newId(), roles: "", isSystemAdmin: false, expiresAt: Date.now() + 60_000 }, "t", limits);
  const limits = { replayEvents: 128, queueLimit: 8, maxBufferedBytes: 1 << 20 };

  function setup(stream: Partial<EventStream>, connected = true) {
    const delivered: string[] = [];
    const resynced: Connection[] = [];
    let resets = 0;
    const conns = [conn(), conn()];
    const bus = { connected, flush: async () => undefined };
    const r = new NatsRecovery({
      bus,
      stream: {
        state: async () => ({ messages: 5, firstSeq: 1, lastSeq: 5, firstTimeMs: 1, lastTimeMs: Date.now(), createdMs: 1 }),
        read: async () => [],
        ...stream,
      },
      log: silentLogger,
      marginMs: 1_000,
      timeoutMs: 1_000,
      holds: (s) => s === SUBJECT,
      replay: (ev) => delivered.push(`replay ${new TextDecoder().decode(ev.data)}`),
      release: (ev) => delivered.push(`live ${new TextDecoder().decode(ev.data)}`),
      connections: () => conns,
      resync: (c) => resynced.push(c),
      resetSequences: () => resets++,
      onRecovered: () => undefined,
      onPastRetention: () => undefined,
      onCaughtUp: () => delivered.push("caught up"),
    });
    /** A live event, as the hub routes it. */
    const live = (e: Event) => {
      if (!r.hold(SUBJECT, e)) delivered.push(`now ${new TextDecoder().decode(e.data)}`);
    };
    return { r, bus, live, delivered, resynced, conns, resets: () => resets };
  }

  it("delivers what the stream has for the subjects held, before the live events that waited", async () => {
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const t = setup({
      read: async () => {
        await gate;
        return [stored(post(1)), stored(post(2), OTHER), stored(newEvent({ event: "typing", data: {}, broadcast: { channelId: CH } })), stored(post(3))];
      },
    });
    t.live(post(0));
    t.r.lost(Date.now());
    // Arrives before the reconnect is reported: waits too.
    t.live(post(4));
    t.r.recover();
    t.live(post(5));
    release();
    await waitFor(() => t.delivered.length === 6, { what: "read-back" });
    expect(t.delivered).toEqual(['now {"n":0}', 'replay {"n":1}', 'replay {"n":3}', 'live {"n":4}', 'live {"n":5}', "caught up"]);
    expect(t.resynced).toEqual([]);
    t.live(post(6));
    expect(t.delivered.at(-1)).toBe('now {"n":6}');
  });

  it("resyncs every connection that lived through an outage the stream no longer covers", async () => {
    const t = setup({ state: async () => ({ messages: 5, firstSeq: 40, lastSeq: 44, firstTimeMs: Date.now() + 10, lastTimeMs: Date.now(), createdMs: 1 }) });
    t.r.lost(Date.now());
    t.r.recover();
    t.live(post(1));
    await waitFor(() => t.resynced.length === 2, { what: "resync" });
    expect(t.resynced).toEqual(t.conns);
    expect(t.resets()).toBe(1);
    await waitFor(() => t.delivered.length === 1, { what: "held event released" });
    expect(t.delivered).toEqual(['live {"n":1}']);
  });

  it("keeps holding when disconnected again, and reads the whole outage back at the next reconnect", async () => {
    let fail = true;
    let attempts = 0;
    const t = setup({
      read: async () => {
        attempts++;
        if (fail) throw new Error("disconnected");
        return [stored(post(1))];
      },
    });
    t.bus.connected = false;
    t.r.lost(Date.now());
    t.r.recover();
    t.live(post(2));
    await waitFor(() => attempts === 1, { what: "first attempt" });
    // The failed attempt's handling runs in the promise jobs after the rejection: one macrotask later it is done.
    await new Promise((r) => setImmediate(r));
    expect(t.resynced).toEqual([]);
    expect(t.delivered).toEqual([]);
    fail = false;
    t.bus.connected = true;
    t.r.recover();
    await waitFor(() => t.delivered.length === 3, { what: "read-back" });
    expect(t.delivered).toEqual(['replay {"n":1}', 'live {"n":2}', "caught up"]);
  });
});

describe("a read-back that fails for a while", () => {
  const CH = newId();
  const SUBJECT = subjects.channel(CH);
  const post = (n: number) => newEvent({ event: "posted", data: { n }, broadcast: { channelId: CH } });
  const conn = () =>
    new Connection(newId(), { userId: newId(), sessionId: newId(), roles: "", isSystemAdmin: false, expiresAt: Date.now() + 60_000 }, "t", {
      replayEvents: 128,
      queueLimit: 8,
      maxBufferedBytes: 1 << 20,
    });

  function setup(stream: EventStream, timeoutMs: number) {
    const delivered: string[] = [];
    const resynced: Connection[] = [];
    const r = new NatsRecovery({
      bus: { connected: true, flush: async () => undefined },
      stream,
      log: silentLogger,
      marginMs: 1_000,
      timeoutMs,
      holds: (s) => s === SUBJECT,
      replay: (ev) => delivered.push(`replay ${new TextDecoder().decode(ev.data)}`),
      release: (ev) => delivered.push(`live ${new TextDecoder().decode(ev.data)}`),
      connections: () => [conn(), conn()],
      resync: (c) => resynced.push(c),
      resetSequences: () => undefined,
      onRecovered: () => undefined,
      onPastRetention: () => undefined,
      onCaughtUp: () => delivered.push("caught up"),
    });
    return { r, delivered, resynced };
  }
  const covered = async () => ({ messages: 5, firstSeq: 1, lastSeq: 5, firstTimeMs: 1, lastTimeMs: Date.now(), createdMs: 1 });

  it("is tried again until it succeeds, and nobody resyncs", async () => {
    let attempts = 0;
    const t = setup(
      {
        // The stream electing a leader after its nodes came back: the first two attempts fail.
        state: async () => {
          if (++attempts <= 2) throw new Error("JetStream system temporarily unavailable");
          return covered();
        },
        read: async () => [{ subject: SUBJECT, data: encodeEvent(post(1)), timeMs: Date.now() }],
      },
      10_000,
    );
    t.r.lost(Date.now());
    t.r.recover();
    if (!t.r.hold(SUBJECT, post(2))) throw new Error("a live event during the recovery must wait");
    await waitFor(() => t.delivered.length === 3 || t.resynced.length > 0, { timeoutMs: 4_000, what: "read-back after two failures" });
    expect(attempts).toBe(3);
    expect(t.delivered).toEqual(['replay {"n":1}', 'live {"n":2}', "caught up"]);
    expect(t.resynced).toEqual([]);
  });

  it("resyncs at once on a retention gap, without trying again", async () => {
    let attempts = 0;
    const t = setup(
      {
        state: async () => {
          attempts++;
          return { messages: 5, firstSeq: 40, lastSeq: 44, firstTimeMs: Date.now() + 10, lastTimeMs: Date.now(), createdMs: 1 };
        },
        read: async () => [],
      },
      10_000,
    );
    const t0 = Date.now();
    t.r.lost(Date.now());
    t.r.recover();
    await waitFor(() => t.resynced.length === 2, { what: "resync" });
    expect(attempts).toBe(1);
    expect(Date.now() - t0).toBeLessThan(400);
  });

  it("resyncs once its deadline passes while it keeps failing", async () => {
    let attempts = 0;
    const t = setup(
      {
        state: async () => {
          attempts++;
          throw new Error("timeout");
        },
        read: async () => [],
      },
      1_600,
    );
    const t0 = Date.now();
    t.r.lost(Date.now());
    t.r.recover();
    await waitFor(() => t.resynced.length === 2, { timeoutMs: 10_000, what: "resync at the deadline" });
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(Date.now() - t0).toBeLessThan(2_600);
    expect(t.delivered).toEqual([]);
    // No attempt after the deadline.
    const n = attempts;
    await new Promise((r) => setTimeout(r, 700));
    expect(attempts).toBe(n);
  });
});

describe("which connections a recovered event is owed to", () => {
  it("those routed here when it was published, not those that came later", () => {
    expect(owedTo(1_000, 1_000)).toBe(true);
    expect(owedTo(1_000, 1_001)).toBe(true);
    expect(owedTo(1_000, 999)).toBe(false);
    // Not routed yet: nothing read back reaches it.
    expect(owedTo(1_000, Number.NEGATIVE_INFINITY)).toBe(false);
  });

  it("the read-back hands each event over with the time the stream stored it, a held live event with its arrival", async () => {
    const CH = newId();
    const SUBJECT = subjects.channel(CH);
    const post = (n: number) => newEvent({ event: "posted", data: { n }, broadcast: { channelId: CH } });
    const delivered: [string, number][] = [];
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const r = new NatsRecovery({
      bus: { connected: true, flush: async () => undefined },
      stream: {
        state: async () => ({ messages: 5, firstSeq: 1, lastSeq: 5, firstTimeMs: 1, lastTimeMs: Date.now(), createdMs: 1 }),
        read: async () => {
          await gate;
          return [
            { subject: SUBJECT, data: encodeEvent(post(1)), timeMs: 111 },
            { subject: SUBJECT, data: encodeEvent(post(2)), timeMs: 222 },
          ];
        },
      },
      log: silentLogger,
      marginMs: 1_000,
      timeoutMs: 5_000,
      holds: () => true,
      replay: (ev, _s, at) => delivered.push([`replay ${new TextDecoder().decode(ev.data)}`, at]),
      release: (ev, _s, at) => delivered.push([`live ${new TextDecoder().decode(ev.data)}`, at]),
      connections: () => [],
      resync: () => undefined,
      resetSequences: () => undefined,
      onRecovered: () => undefined,
      onPastRetention: () => undefined,
      onCaughtUp: () => undefined,
    });
    r.lost(Date.now());
    r.recover();
    const before = Date.now();
    r.hold(SUBJECT, post(3));
    const after = Date.now();
    release();
    await waitFor(() => delivered.length === 3, { what: "read-back" });
    expect(delivered.slice(0, 2)).toEqual([
      ['replay {"n":1}', 111],
      ['replay {"n":2}', 222],
    ]);
    expect(delivered[2]![0]).toBe('live {"n":3}');
    expect(delivered[2]![1]).toBeGreaterThanOrEqual(before);
    expect(delivered[2]![1]).toBeLessThanOrEqual(after);
  });
});
