import { describe, expect, it } from "vitest";
import { encodeEvent, subjects, type Bus, type BusMessage } from "@switchboard/bus";
import { silentLogger } from "@switchboard/log";
import { createMetricsRegistry } from "@switchboard/metrics";
import { newEvent, newId } from "@switchboard/model";
import { create } from "@bufbuild/protobuf";
import { MembershipChangeSchema, MembershipChange_Kind, PostedHintsSchema } from "@switchboard/proto/events";
import type { PostsClient } from "@switchboard/rpc";
import { Connection } from "../connections/connection.js";
import type { SocketPort } from "../connections/socket-port.js";
import { createGatewayMetrics } from "../metrics.js";
import { Hub } from "./hub.js";

/** In-memory Bus: subscriptions by exact subject, publish delivers synchronously. */
function fakeBus(): Bus & { subscribed(): string[] } {
  const subs = new Map<string, Set<(m: BusMessage) => void>>();
  const bus = {
    connected: true,
    publish(subject: string, data: Uint8Array) {
      for (const h of subs.get(subject) ?? []) h({ subject, data, header: () => undefined, reply: undefined, respond: () => false });
    },
    subscribe(subject: string, handler: (m: BusMessage) => void) {
      if (!subs.has(subject)) subs.set(subject, new Set());
      subs.get(subject)!.add(handler);
      return { subject, unsubscribe: () => subs.get(subject)?.delete(handler) };
    },
    request: async () => {
      throw new Error("no requests");
    },
    flush: async () => {},
    drain: async () => {},
    close: async () => {},
    closed: () => new Promise<void>(() => {}),
    onStatus: () => () => undefined,
    subscribed: () => [...subs].filter(([, s]) => s.size > 0).map(([k]) => k),
  };
  return bus;
}

class FakeSocket implements SocketPort {
  frames: Record<string, unknown>[] = [];
  buffered = 0;
  send(frame: Uint8Array | string) {
    this.frames.push(JSON.parse(typeof frame === "string" ? frame : new TextDecoder().decode(frame)) as Record<string, unknown>);
  }
  bufferedAmount() {
    return this.buffered;
  }
  cork(fn: () => void) {
    fn();
  }
  end() {}
}

const limits = { replayEvents: 128, queueLimit: 8, maxBufferedBytes: 1 << 20 };

async function setup(routing: Record<string, { channels: string[]; teams: string[] }>) {
  const bus = fakeBus();
  const posts = {
    getUserRouting: async ({ userId }: { userId: string }) => ({
      channels: (routing[userId]?.channels ?? []).map((channelId) => ({ channelId, teamId: "", type: "O" })),
      teamIds: routing[userId]?.teams ?? [],
    }),
  } as unknown as PostsClient;
  const overflowed: Connection[] = [];
  const hub = new Hub({
    bus,
    posts,
    log: silentLogger,
    metrics: createGatewayMetrics(createMetricsRegistry({ collectDefault: false })),
    rpcDeadlineMs: 1000,
    repairTimeoutMs: 1000,
    recoveryMarginMs: 1000,
    recoveryTimeoutMs: 1000,
  });
  hub.reportTroublesTo({ overflowed: (c) => overflowed.push(c), stalledNow: () => {}, mustResync: () => {} });
  await hub.start();
  const join = async (userId: string, admin = false) => {
    await hub.claim(userId, "token");
    const conn = new Connection(newId(), { userId, sessionId: newId(), roles: "", isSystemAdmin: admin, expiresAt: Date.now() + 60_000 }, "token", limits);
    const sock = new FakeSocket();
    conn.socket = sock;
    hub.attach(conn);
    return { conn, sock };
  };
  const flushed = () => new Promise((r) => setImmediate(r));
  return { bus, hub, join, flushed, overflowed };
}

describe("Hub", () => {
  const [u1, u2, u3, ch, ch2] = [newId(), newId(), newId(), newId(), newId()];

  it("delivers a channel event once per member connection, rendered with each connection's seq", async () => {
    const { bus, join, flushed } = await setup({ [u1]: { channels: [ch], teams: [] }, [u2]: { channels: [ch], teams: [] }, [u3]: { channels: [], teams: [] } });
    const a = await join(u1);
    const a2 = await join(u1);
    const b = await join(u2);
    const c = await join(u3);
    expect(bus.subscribed()).toContain(subjects.channel(ch));
    const ev = newEvent({
      event: "posted",
      data: { post: "{}" },
      broadcast: { channelId: ch },
      posted: create(PostedHintsSchema, { mentionedUserIds: [u2], senderId: u1, channelType: "O" }),
    });
    bus.publish(subjects.channel(ch), encodeEvent(ev));
    bus.publish(subjects.channel(ch), encodeEvent(ev)); // a re-publish: dropped by id
    await flushed();
    for (const s of [a.sock, a2.sock, b.sock]) expect(s.frames.map((f) => [f.event, f.seq])).toEqual([["posted", 0]]);
    expect(c.sock.frames).toEqual([]);
    expect((b.sock.frames[0]!.data as Record<string, unknown>).mentions).toBe(JSON.stringify([u2]));
    expect("mentions" in (a.sock.frames[0]!.data as object)).toBe(false);
  });

  it("applies a membership change before the next event of the channel, and stops after removal", async () => {
    const { bus, join, flushed } = await setup({ [u1]: { channels: [ch2], teams: [] }, [u2]: { channels: [ch2], teams: [] } });
    const a = await join(u1);
    const b = await join(u2);
    const add = (kind: MembershipChange_Kind) =>
      newEvent({
        event: kind === MembershipChange_Kind.CHANNEL_ADDED ? "user_added" : "user_removed",
        data: {},
        broadcast: { userId: u2, channelId: ch },
        membership: create(MembershipChangeSchema, { kind, userId: u2, channelId: ch }),
      });
    bus.publish(subjects.user(u2), encodeEvent(add(MembershipChange_Kind.CHANNEL_ADDED)));
    bus.publish(subjects.channel(ch), encodeEvent(newEvent({ event: "posted", data: { n: 1 }, broadcast: { channelId: ch } })));
    bus.publish(subjects.user(u2), encodeEvent(add(MembershipChange_Kind.CHANNEL_REMOVED)));
    bus.publish(subjects.channel(ch), encodeEvent(newEvent({ event: "posted", data: { n: 2 }, broadcast: { channelId: ch } })));
    await flushed();
    expect(b.sock.frames.map((f) => f.event)).toEqual(["user_added", "posted", "user_removed"]);
    expect(a.sock.frames).toEqual([]);
    expect(bus.subscribed()).not.toContain(subjects.channel(ch));
  });

  it("honours omit_users, sanitized/sensitive copies and connection targeting", async () => {
    const { bus, join, flushed } = await setup({ [u1]: { channels: [ch], teams: [] }, [u2]: { channels: [ch], teams: [] } });
    const admin = await join(u1, true);
    const user = await join(u2);
    const send = (broadcast: Parameters<typeof newEvent>[0]["broadcast"], event = "x") =>
      bus.publish(subjects.channel(ch), encodeEvent(newEvent({ event, data: {}, broadcast: { channelId: ch, ...broadcast } })));
    send({ omitUsers: [u2] }, "omit");
    send({ containsSanitizedData: true }, "sanitized");
    send({ containsSensitiveData: true }, "sensitive");
    send({ connectionId: user.conn.id }, "targeted");
    send({ omitConnectionId: user.conn.id }, "all-but");
    await flushed();
    expect(admin.sock.frames.map((f) => f.event)).toEqual(["omit", "sensitive", "all-but"]);
    expect(user.sock.frames.map((f) => f.event)).toEqual(["sanitized", "targeted"]);
  });

  it("keeps a user's routing while another connection of theirs is still being set up (its claim holds it)", async () => {
    const { bus, hub, flushed } = await setup({ [u1]: { channels: [ch], teams: [] } });
    // Two sockets of one user: both claims resolve, then the first socket goes away before
    // the second is attached.
    await Promise.all([hub.claim(u1, "token"), hub.claim(u1, "token")]);
    hub.abandon(u1);
    expect(bus.subscribed()).toContain(subjects.channel(ch));
    const conn = new Connection(newId(), { userId: u1, sessionId: newId(), roles: "", isSystemAdmin: false, expiresAt: Date.now() + 60_000 }, "token", limits);
    const sock = new FakeSocket();
    conn.socket = sock;
    hub.attach(conn);
    expect(hub.isChannelMember(u1, ch)).toBe(true);
    bus.publish(subjects.channel(ch), encodeEvent(newEvent({ event: "posted", data: {}, broadcast: { channelId: ch } })));
    await flushed();
    expect(sock.frames.map((f) => f.event)).toEqual(["posted"]);
    // The last connection leaves: the user's routing and subscriptions go with it.
    hub.detach(conn);
    expect(hub.isChannelMember(u1, ch)).toBe(false);
    expect(bus.subscribed()).not.toContain(subjects.channel(ch));
    expect(bus.subscribed()).not.toContain(subjects.user(u1));
    expect(() => hub.attach(conn)).toThrow(/no resolved claim/);
  });

  it("sheds typing for a congested connection and reports overflow instead of dropping a post", async () => {
    const { bus, join, overflowed } = await setup({ [u1]: { channels: [ch], teams: [] } });
    const a = await join(u1);
    a.conn.socket = undefined; // away: events queue up
    const post = (event: string) => bus.publish(subjects.channel(ch), encodeEvent(newEvent({ event, data: {}, broadcast: { channelId: ch } })));
    for (let i = 0; i < 4; i++) post("posted");
    post("typing");
    expect(a.conn.log.unwritten).toBe(4);
    for (let i = 0; i < 4; i++) post("posted");
    expect(overflowed).toEqual([]);
    post("posted");
    expect(overflowed).toEqual([a.conn]);
  });
});
