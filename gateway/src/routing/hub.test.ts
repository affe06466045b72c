import { describe, expect, it, vi } from "vitest";
import { encodeEvent, subjects, type Bus, type BusMessage, type StreamMessage } from "@switchboard/bus";
import { silentLogger } from "@switchboard/log";
import { createMetricsRegistry } from "@switchboard/metrics";
import { newEvent, newId } from "@switchboard/model";
import { create } from "@bufbuild/protobuf";
import { MembershipChangeSchema, MembershipChange_Kind, PostedHintsSchema } from "@switchboard/proto/events";
import type * as BusModule from "@switchboard/bus";
import type { PostsClient } from "@switchboard/rpc";
import { waitFor } from "@switchboard/testkit";
import { Connection } from "../connections/connection.js";
import type { SocketPort } from "../connections/socket-port.js";
import { createGatewayMetrics } from "../metrics.js";
import { Hub } from "./hub.js";

/**
 * The events stream of the in-memory bus: what was published, per subject. A read waits for
 * `open`, so a test decides how long a channel repair holds the channel's live events.
 */
const stream = vi.hoisted(() => {
  const s: { published: { subject: string; data: Uint8Array }[]; open: Promise<void> } = { published: [], open: Promise.resolve() };
  return s;
});
vi.mock("@switchboard/bus", async (importOriginal) => ({
  ...(await importOriginal<typeof BusModule>()),
  readStreamRange: async (_bus: Bus, o: { filterSubjects?: readonly string[] }): Promise<StreamMessage[]> => {
    await stream.open;
    return stream.published
      .filter((m) => o.filterSubjects?.includes(m.subject) ?? true)
      .map((m, i) => ({ subject: m.subject, data: m.data, seq: i + 1, timeMs: Date.now(), header: () => undefined }));
  },
}));

/** In-memory Bus: subscriptions by exact subject, publish delivers synchronously (and stores, see `stream`). */
function fakeBus(): Bus & { subscribed(): string[] } {
  const subs = new Map<string, Set<(m: BusMessage) => void>>();
  const bus = {
    connected: true,
    publish(subject: string, data: Uint8Array) {
      stream.published.push({ subject, data });
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
    verifyHeadsAfterMs: 1000,
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

  describe("a channel's events held for a repair and released late", () => {
    /** Holds every stream read (so every repair) until the returned function is called. */
    const holdRepairs = (): (() => void) => {
      let open!: () => void;
      stream.open = new Promise<void>((r) => (open = r));
      return open;
    };
    /** A membership change numbered `seq` in channel `x`: its copy on the channel's subject and its copy to the user. */
    const change = (kind: MembershipChange_Kind, userId: string, x: string, seq: number) => {
      const added = kind === MembershipChange_Kind.CHANNEL_ADDED;
      const common = { data: { user_id: userId }, membership: create(MembershipChangeSchema, { kind, userId, channelId: x }), channelSeq: BigInt(seq) };
      const event = added ? "user_added" : "user_removed";
      return {
        channel: newEvent({ ...common, event, broadcast: added ? { channelId: x, omitUsers: [userId] } : { channelId: x } }),
        user: newEvent({ ...common, event, broadcast: added ? { userId, channelId: x } : { userId } }),
      };
    };
    const post = (x: string, seq: number) => newEvent({ event: "posted", data: { seq }, broadcast: { channelId: x }, channelSeq: BigInt(seq) });
    /** Each frame as event:user_id (membership changes) or event:seq (posts). */
    const seen = (sock: FakeSocket) =>
      sock.frames.map((f) => {
        const d = f.data as { user_id?: string; seq?: number };
        return `${String(f.event)}:${d.user_id ?? String(d.seq)}`;
      });

    it("does not give a member an event of the channel made before they joined", async () => {
      // The admin creates channel x (1) and adds u1 (2), then u2 (3): x's live events are held
      // by the repair its new subscription started while u2's own copy of their add arrives.
      stream.published.length = 0;
      const [admin, x] = [newId(), newId()];
      const { bus, join, flushed } = await setup({});
      const a = await join(admin);
      const one = await join(u1);
      const two = await join(u2);
      const open = holdRepairs();
      const created = newEvent({
        event: "channel_created",
        data: { channel_id: x },
        broadcast: { userId: admin },
        membership: create(MembershipChangeSchema, { kind: MembershipChange_Kind.CHANNEL_ADDED, userId: admin, channelId: x }),
        channelSeq: 1n,
      });
      bus.publish(subjects.user(admin), encodeEvent(created));
      expect(bus.subscribed()).toContain(subjects.channel(x));
      for (const [u, seq] of [
        [u1, 2],
        [u2, 3],
      ] as const) {
        const c = change(MembershipChange_Kind.CHANNEL_ADDED, u, x, seq);
        bus.publish(subjects.channel(x), encodeEvent(c.channel)); // held
        bus.publish(subjects.user(u), encodeEvent(c.user)); // applied and delivered now
      }
      await flushed();
      expect(seen(two.sock)).toEqual([`user_added:${u2}`]);
      open();
      await waitFor(() => seen(a.sock).length === 3, { what: "the held events released" });
      await flushed();
      expect(seen(a.sock)).toEqual(["channel_created:undefined", `user_added:${u1}`, `user_added:${u2}`]);
      expect(seen(one.sock)).toEqual([`user_added:${u1}`, `user_added:${u2}`]);
      // u1's add (2) predates u2's membership (3).
      expect(seen(two.sock)).toEqual([`user_added:${u2}`]);
    });

    it("ignores a late removal of a user added again since, and gives them nothing from between", async () => {
      stream.published.length = 0;
      const x = newId();
      const { bus, hub, join, flushed } = await setup({ [u1]: { channels: [x], teams: [] }, [u2]: { channels: [x], teams: [] } });
      const one = await join(u1);
      const two = await join(u2);
      const open = holdRepairs();
      bus.publish(subjects.channel(x), encodeEvent(post(x, 1)));
      // u2 is removed (2): the channel's copy is lost live (the stream has it), u2's own copy arrives.
      const removed = change(MembershipChange_Kind.CHANNEL_REMOVED, u2, x, 2);
      stream.published.push({ subject: subjects.channel(x), data: encodeEvent(removed.channel) });
      bus.publish(subjects.user(u2), encodeEvent(removed.user));
      bus.publish(subjects.channel(x), encodeEvent(post(x, 3))); // shows the hole: held, the repair starts
      // u2 is added again (4): their own copy arrives now, the channel's only after the repair.
      const added = change(MembershipChange_Kind.CHANNEL_ADDED, u2, x, 4);
      bus.publish(subjects.user(u2), encodeEvent(added.user));
      await flushed();
      open();
      await waitFor(() => seen(one.sock).length === 3, { what: "the held events released" });
      // The late channel copy of the removal (2) did not undo the add (4).
      expect(hub.isChannelMember(u2, x)).toBe(true);
      bus.publish(subjects.channel(x), encodeEvent(added.channel));
      bus.publish(subjects.channel(x), encodeEvent(post(x, 5)));
      await flushed();
      expect(seen(one.sock)).toEqual(["posted:1", `user_removed:${u2}`, "posted:3", `user_added:${u2}`, "posted:5"]);
      // Not 3: it was made while u2 was out.
      expect(seen(two.sock)).toEqual(["posted:1", `user_removed:${u2}`, `user_added:${u2}`, "posted:5"]);
    });
  });

  it("takes from each family other than posts's only its own kinds, for its own subject, and none of posts's facts", async () => {
    const { bus, join, flushed } = await setup({ [u1]: { channels: [ch], teams: [] }, [u2]: { channels: [ch, ch2], teams: [] } });
    const a = await join(u1);
    const b = await join(u2);
    for (const s of [subjects.channelEphemeral(ch), subjects.userStatus(u1), subjects.accountsUser(u1)]) expect(bus.subscribed()).toContain(s);
    const send = (subject: string, ev: ReturnType<typeof newEvent>) => bus.publish(subject, encodeEvent(ev));
    // Wrong kinds on every family, and right kinds addressed beyond the subject.
    send(subjects.channelEphemeral(ch), newEvent({ event: "posted", data: { post: "{}" }, broadcast: { channelId: ch } }));
    send(subjects.channelEphemeral(ch), newEvent({ event: "typing", data: { user_id: u2 }, broadcast: { channelId: ch2 } }));
    send(subjects.channelEphemeral(ch), newEvent({ event: "typing", data: { user_id: u2 }, broadcast: { channelId: ch, userId: u1 } }));
    send(subjects.userStatus(u1), newEvent({ event: "posted", data: { post: "{}" }, broadcast: { userId: u1 } }));
    send(subjects.userStatus(u1), newEvent({ event: "status_change", data: { status: "dnd", user_id: u2 }, broadcast: { userId: u2 } }));
    send(subjects.userStatus(u1), newEvent({ event: "status_change", data: { status: "dnd", user_id: u2 }, broadcast: { channelId: ch } }));
    send(subjects.accountsUser(u1), newEvent({ event: "user_removed", data: {}, broadcast: { userId: u1 } }));
    send(subjects.accountsUser(u1), newEvent({ event: "preferences_changed", data: {}, broadcast: { teamId: newId() } }));
    // A right kind carrying a membership fact: delivered, but the fact is not applied.
    const removal = create(MembershipChangeSchema, { kind: MembershipChange_Kind.CHANNEL_REMOVED, userId: u1, channelId: ch });
    send(subjects.userStatus(u1), newEvent({ event: "status_change", data: { status: "away", user_id: u1 }, broadcast: { userId: u1 }, membership: removal }));
    // The families' own kinds.
    send(subjects.channelEphemeral(ch), newEvent({ event: "typing", data: { user_id: u2 }, broadcast: { channelId: ch, omitUsers: [u2] } }));
    send(subjects.accountsUser(u1), newEvent({ event: "preferences_changed", data: {}, broadcast: { userId: u1 } }));
    await flushed();
    expect(a.sock.frames.map((f) => f.event)).toEqual(["status_change", "typing", "preferences_changed"]);
    expect(b.sock.frames).toEqual([]);
    expect(bus.subscribed()).toContain(subjects.channel(ch));
  });
});
