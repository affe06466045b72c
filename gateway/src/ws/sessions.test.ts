import { describe, expect, it } from "vitest";
import type { SessionAuth } from "@switchboard/auth";
import { decodeEvent, subjects, type Bus } from "@switchboard/bus";
import { silentLogger } from "@switchboard/log";
import { createMetricsRegistry } from "@switchboard/metrics";
import { newId } from "@switchboard/model";
import type { Actor } from "@switchboard/tokens";
import type { Connection } from "../connections/connection.js";
import { ConnectionTable } from "../connections/connection-table.js";
import type { SocketPort } from "../connections/socket-port.js";
import { CloseCode } from "../errors.js";
import { createGatewayMetrics } from "../metrics.js";
import { renderEvent } from "../protocol/outbound.js";
import type { Fanout } from "../routing/fanout.js";
import type { PresenceClient } from "@switchboard/rpc";
import { frameFromWire, frameToWire } from "../resume/handover-frames.js";
import type { ClaimResult, ResumeClaims } from "../resume/resume-claims.js";
import { Actions } from "./actions.js";
import { newSocketState, Sessions } from "./sessions.js";

/**
 * The sessions layer and its requests against a Fanout kept in memory (no hub): it checks the claim protocol
 * (attach or abandon only after a resolved claim) and delivers events as the hub does.
 */
class MemoryFanout implements Fanout {
  readonly users = new Map<string, { claims: number; conns: Set<Connection> }>();
  /** "userId channelId" of every membership the routing knows. */
  readonly members = new Set<string>();
  /** What claims wait for (the routes loading); the test may hold it. */
  loading: Promise<void> = Promise.resolve();

  async claim(userId: string): Promise<void> {
    let u = this.users.get(userId);
    if (!u) this.users.set(userId, (u = { claims: 0, conns: new Set() }));
    u.claims++;
    try {
      await this.loading;
    } catch (e: unknown) {
      u.claims--;
      this.dropIfUnused(userId);
      throw e;
    }
  }
  attach(conn: Connection): void {
    this.claimed(conn.userId).claims--;
    this.users.get(conn.userId)!.conns.add(conn);
  }
  abandon(userId: string): void {
    this.claimed(userId).claims--;
    this.dropIfUnused(userId);
  }
  detach(conn: Connection): void {
    this.users.get(conn.userId)?.conns.delete(conn);
    this.dropIfUnused(conn.userId);
  }
  isChannelMember(userId: string, channelId: string): boolean {
    return this.members.has(`${userId} ${channelId}`);
  }
  /** One event to every attached connection of the user, queued and written as the hub does. */
  publish(userId: string, n: number): void {
    const frame = renderEvent("posted", JSON.stringify({ n }), "{}");
    for (const conn of this.users.get(userId)?.conns ?? []) {
      conn.deliver(frame, `e${n}`);
      conn.flush();
    }
  }
  private claimed(userId: string) {
    const u = this.users.get(userId);
    if (!u || u.claims === 0) throw new Error(`no claim for ${userId}`);
    return u;
  }
  private dropIfUnused(userId: string): void {
    const u = this.users.get(userId);
    if (u && u.claims === 0 && u.conns.size === 0) this.users.delete(userId);
  }
}

interface Frame {
  event?: string;
  seq?: number;
  data?: Record<string, unknown>;
}

/** A socket whose end() runs the close handler at once, as uWS does. */
class TestSocket implements SocketPort {
  readonly frames: Frame[] = [];
  closedWith: number | undefined;
  onEnd: (code: number) => void = () => undefined;
  send(frame: Uint8Array | string): void {
    this.frames.push(JSON.parse(typeof frame === "string" ? frame : new TextDecoder().decode(frame)) as Frame);
  }
  bufferedAmount(): number {
    return 0;
  }
  cork(fn: () => void): void {
    fn();
  }
  end(code: number): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = code;
    this.onEnd(code);
  }
}

function actorOf(userId: string, sessionId = newId()): Actor {
  return { userId, sessionId, roles: "system_user", isSystemAdmin: false, expiresAt: Date.now() + 60_000 };
}

function setup(o: { claims?: ResumeClaims; handoverMs?: number } = {}) {
  const fanout = new MemoryFanout();
  const connections = new ConnectionTable();
  const reported: [string, string][] = [];
  const metrics = createGatewayMetrics(createMetricsRegistry({ collectDefault: false }));
  const sessions = new Sessions({
    fanout,
    connections,
    presence: {
      opened: (id) => {
        reported.push(["opened", id]);
        return Promise.resolve("admitted");
      },
      closed: (id) => void reported.push(["closed", id]),
      activity: () => undefined,
    },
    log: silentLogger,
    metrics,
    limits: { replayEvents: 4, queueLimit: 8, maxBufferedBytes: 1 << 20 },
    authTimeoutMs: 5_000,
    resumeWindowMs: 60_000,
    stallTimeoutMs: 5_000,
    versionId: "10.0.0.0.switchboard.false",
    hostname: "gw-test",
    ...(o.claims ? { claims: o.claims } : {}),
    ...(o.handoverMs !== undefined ? { handoverMs: o.handoverMs } : {}),
  });
  /** A socket authenticated at the upgrade, optionally resuming. */
  const open = (actor: Actor, resume?: { connectionId: string; sequence: number }) => {
    const sock = new TestSocket();
    const s = newSocketState(
      sock,
      { connectionId: resume?.connectionId ?? "", sequence: resume?.sequence, invalid: false },
      false,
      actor,
      "token",
      "127.0.0.1",
    );
    sock.onEnd = (code) => sessions.closed(s, code);
    return { s, sock, bound: sessions.opened(s) };
  };
  const published: { subject: string; ev: ReturnType<typeof decodeEvent> }[] = [];
  const bus = { publish: (subject: string, data: Uint8Array) => published.push({ subject, ev: decodeEvent(data) }) } as unknown as Bus;
  const actions = new Actions({
    sessions,
    auth: {} as SessionAuth,
    fanout,
    bus,
    presence: {} as PresenceClient,
    presenceReporter: { opened: () => Promise.resolve("admitted"), closed: () => undefined, activity: () => undefined },
    log: silentLogger,
    metrics,
    serverVersion: "10.0.0",
    rpcDeadlineMs: 1_000,
  });
  return { fanout, connections, sessions, actions, published, reported, open };
}

describe("Sessions", () => {
  it("binds an authenticated socket to a new connection attached to the fan-out, hello first", async () => {
    const { fanout, connections, reported, open } = setup();
    const user = newId();
    const { s, sock, bound } = open(actorOf(user));
    expect(await bound).toBe(true);
    const conn = s.conn!;
    expect(sock.frames.map((f) => [f.event, f.seq])).toEqual([["hello", 0]]);
    expect(sock.frames[0]!.data!.connection_id).toBe(conn.id);
    expect(fanout.users.get(user)).toEqual({ claims: 0, conns: new Set([conn]) });
    expect(connections.open()).toEqual([{ connectionId: conn.id, userId: user, clientIp: "127.0.0.1" }]);
    expect(reported).toEqual([["opened", conn.id]]);
    fanout.publish(user, 1);
    expect(sock.frames.map((f) => [f.event, f.seq])).toEqual([
      ["hello", 0],
      ["posted", 1],
    ]);
  });

  it("abandons the claim of a socket that closed while its routes loaded: no connection, the user's routing goes", async () => {
    const { fanout, connections, reported, open } = setup();
    const user = newId();
    let loaded!: () => void;
    fanout.loading = new Promise((r) => (loaded = r));
    const { s, sock, bound } = open(actorOf(user));
    expect(fanout.users.get(user)?.claims).toBe(1);
    sock.end(1006);
    loaded();
    expect(await bound).toBe(false);
    expect(s.conn).toBeUndefined();
    expect(sock.frames).toEqual([]);
    expect(fanout.users.has(user)).toBe(false);
    expect([...connections.values()]).toEqual([]);
    expect(reported).toEqual([]);
  });

  it("resumes a connection whose socket went away: what was queued meanwhile follows the client's sequence, no hello", async () => {
    const { fanout, reported, open } = setup();
    const user = newId();
    const first = open(actorOf(user));
    await first.bound;
    const conn = first.s.conn!;
    fanout.publish(user, 1);
    first.sock.end(1006);
    fanout.publish(user, 2);
    fanout.publish(user, 3);
    // The client saw hello (0) and the first event (1): it asks for 2 on.
    const second = open(actorOf(user), { connectionId: conn.id, sequence: 2 });
    expect(await second.bound).toBe(true);
    expect(second.s.conn).toBe(conn);
    expect(second.sock.frames.map((f) => [f.event, f.seq, f.data?.n])).toEqual([
      ["posted", 2, 2],
      ["posted", 3, 3],
    ]);
    expect(fanout.users.get(user)).toEqual({ claims: 0, conns: new Set([conn]) });
    expect(reported).toEqual([
      ["opened", conn.id],
      ["closed", conn.id],
      ["opened", conn.id],
    ]);
  });

  it("starts a resume over when events it needs are gone: a new connection id and a hello", async () => {
    const { fanout, connections, open } = setup();
    const user = newId();
    const first = open(actorOf(user));
    await first.bound;
    const conn = first.s.conn!;
    const oldId = conn.id;
    for (let n = 1; n <= 20; n++) fanout.publish(user, n);
    first.sock.end(1006);
    // Only the last few events are kept for replay (4, trimmed in chunks): 1 is gone.
    const second = open(actorOf(user), { connectionId: oldId, sequence: 1 });
    expect(await second.bound).toBe(true);
    expect(conn.id).not.toBe(oldId);
    expect(second.sock.frames.map((f) => [f.event, f.seq, f.data?.connection_id])).toEqual([["hello", 0, conn.id]]);
    expect(connections.get(oldId)).toBeUndefined();
    expect(connections.get(conn.id)).toBe(conn);
  });

  it("forgets a connection whose queue overflowed: detached from the fan-out, socket closed, no resume of it", async () => {
    const { fanout, connections, sessions, open } = setup();
    const user = newId();
    const first = open(actorOf(user));
    await first.bound;
    const conn = first.s.conn!;
    sessions.overflowed(conn);
    expect(first.sock.closedWith).toBe(CloseCode.QueueOverflow);
    expect(fanout.users.has(user)).toBe(false);
    expect(connections.get(conn.id)).toBeUndefined();
    const again = open(actorOf(user), { connectionId: conn.id, sequence: 1 });
    expect(await again.bound).toBe(true);
    expect(again.s.conn).not.toBe(conn);
    expect(again.sock.frames.map((f) => f.event)).toEqual(["hello"]);
  });

  it("closes every connection of a revoked session and only those", async () => {
    const { fanout, sessions, open } = setup();
    const user = newId();
    const revoked = actorOf(user);
    const a = open(revoked);
    const b = open(revoked);
    const other = open(actorOf(user));
    await Promise.all([a.bound, b.bound, other.bound]);
    sessions.revokeSession(revoked.sessionId);
    expect([a.sock.closedWith, b.sock.closedWith, other.sock.closedWith]).toEqual([CloseCode.SessionRevoked, CloseCode.SessionRevoked, undefined]);
    expect(fanout.users.get(user)!.conns).toEqual(new Set([other.s.conn]));
  });
});

describe("Actions", () => {
  it("publishes typing only to a channel the routing says the user belongs to", async () => {
    const { fanout, actions, published, open } = setup();
    const [user, channel] = [newId(), newId()];
    const { s, sock, bound } = open(actorOf(user));
    await bound;
    const replies = () => sock.frames.filter((f) => f.event === undefined) as Record<string, unknown>[];
    const turn = () => new Promise((r) => setImmediate(r));
    actions.handle(s, { seq: 1, action: "user_typing", data: { channel_id: channel } });
    await turn();
    expect(replies()).toEqual([
      {
        status: "FAIL",
        seq_reply: 1,
        error: { id: "api.websocket_handler.invalid_param.app_error", message: "Invalid channel_id parameter.", detailed_error: "", status_code: 400 },
      },
    ]);
    expect(published).toEqual([]);
    fanout.members.add(`${user} ${channel}`);
    actions.handle(s, { seq: 2, action: "user_typing", data: { channel_id: channel } });
    await turn();
    expect(replies()[1]).toEqual({ status: "OK", seq_reply: 2 });
    expect(published.map((p) => [p.subject, p.ev.event, p.ev.broadcast?.channelId, p.ev.broadcast?.omitUsers])).toEqual([
      [subjects.channelEphemeral(channel), "typing", channel, [user]],
    ]);
  });

  describe("resume on another gateway", () => {
    /**
     * Two gateways whose claims reach each other in memory, frames through their wire form.
     * `during` runs while the claim is in flight: before the holder answers, and after.
     */
    function pair(during: { beforeAnswer?: () => void; afterAnswer?: () => void } = {}) {
      const ref: { holder?: ReturnType<typeof setup> } = {};
      const claims: ResumeClaims = {
        async claim(connectionId, userId, sequence): Promise<ClaimResult> {
          await Promise.resolve();
          during.beforeAnswer?.();
          const h = ref.holder!.sessions.handOver(connectionId, userId, sequence);
          during.afterAnswer?.();
          if (!h) return { result: "missed" };
          if (h.result !== "handed_over") return { result: h.result };
          return { result: "claimed", firstSeq: sequence, frames: h.frames.map((f) => frameFromWire(frameToWire(f))!), ids: [...h.ids], holder: "a" };
        },
      };
      const a = setup();
      const b = setup({ claims });
      ref.holder = a;
      return { a, b };
    }

    it("continues the same seq from the holder's buffer, merges events both received by id, no hello", async () => {
      const user = newId();
      const both = (n: number) => {
        g.a.fanout.publish(user, n);
        g.b.fanout.publish(user, n);
      };
      const g = pair({ beforeAnswer: () => both(4), afterAnswer: () => both(5) });
      const first = g.a.open(actorOf(user));
      await first.bound;
      const id = first.s.conn!.id;
      g.a.fanout.publish(user, 1);
      g.a.fanout.publish(user, 2);
      first.sock.end(1006);
      g.a.fanout.publish(user, 3);
      // The client saw hello (0) and event 1 (seq 1): it resumes on b from 2.
      const second = g.b.open(actorOf(user), { connectionId: id, sequence: 2 });
      expect(await second.bound).toBe(true);
      expect(second.s.conn!.id).toBe(id);
      expect(second.sock.frames.map((f) => [f.event, f.seq, f.data!.n])).toEqual([
        ["posted", 2, 2],
        ["posted", 3, 3],
        ["posted", 4, 4],
        ["posted", 5, 5],
      ]);
      // The holder forgot it; b holds it now and goes on.
      expect([...g.a.connections.values()]).toEqual([]);
      expect(g.b.connections.get(id)).toBe(second.s.conn);
      g.b.fanout.publish(user, 6);
      expect(second.sock.frames.at(-1)).toMatchObject({ seq: 6, data: { n: 6 } });
    });

    it("a session revoked while its claim is under way ends the socket with 4501 and keeps nothing", async () => {
      const user = newId();
      const actor = actorOf(user);
      const g = pair({ beforeAnswer: () => g.b.sessions.revokeSession(actor.sessionId) });
      const first = g.a.open(actor);
      await first.bound;
      const second = g.b.open(actor, { connectionId: first.s.conn!.id, sequence: 1 });
      expect(await second.bound).toBe(false);
      expect(second.sock.closedWith).toBe(CloseCode.SessionRevoked);
      expect(second.sock.frames).toEqual([]);
      expect([...g.b.connections.values()]).toEqual([]);
      expect(g.b.fanout.users.has(user)).toBe(false);
    });

    it("closes a socket the holder still had", async () => {
      const g = pair();
      const user = newId();
      const first = g.a.open(actorOf(user));
      await first.bound;
      const second = g.b.open(actorOf(user), { connectionId: first.s.conn!.id, sequence: 1 });
      expect(await second.bound).toBe(true);
      expect(first.sock.closedWith).toBe(CloseCode.ServerShuttingDown);
      expect(second.sock.frames).toEqual([]);
    });

    it("refuses another user's connection (the holder keeps it), and a gap or no holder gets a new connection_id", async () => {
      const g = pair();
      const alice = newId();
      const first = g.a.open(actorOf(alice));
      await first.bound;
      const id = first.s.conn!.id;
      const bob = g.b.open(actorOf(newId()), { connectionId: id, sequence: 1 });
      expect(await bob.bound).toBe(true);
      expect(bob.sock.frames.map((f) => [f.event, f.seq])).toEqual([["hello", 0]]);
      expect(bob.sock.frames[0]!.data!.connection_id).not.toBe(id);
      expect(g.a.connections.get(id)).toBe(first.s.conn);
      expect(first.sock.closedWith).toBeUndefined();

      const gap = g.b.open(actorOf(alice), { connectionId: id, sequence: 50 });
      expect(await gap.bound).toBe(true);
      expect(gap.sock.frames.map((f) => [f.event, f.seq])).toEqual([["hello", 0]]);
      expect(g.a.connections.get(id)).toBeUndefined();

      const none = g.b.open(actorOf(alice), { connectionId: newId(), sequence: 3 });
      expect(await none.bound).toBe(true);
      expect(none.sock.frames.map((f) => [f.event, f.seq])).toEqual([["hello", 0]]);
    });
  });

  describe("drain", () => {
    it("closes every socket with 4000 and stops once each drained connection was claimed elsewhere", async () => {
      const { sessions, open } = setup({ handoverMs: 5_000 });
      const users = [newId(), newId(), newId()];
      const socks = await Promise.all(
        users.map(async (u) => {
          const o = open(actorOf(u));
          await o.bound;
          return o;
        }),
      );
      await sessions.drain(100);
      expect(socks.map((o) => o.sock.closedWith)).toEqual([4000, 4000, 4000]);
      let stopped = false;
      const stopping = sessions.stop().then(() => (stopped = true));
      // Still answering claims: the first two are handed over, the third too a little later.
      for (const [i, o] of socks.slice(0, 2).entries()) expect(sessions.handOver(o.s.conn!.id, users[i]!, 1)?.result).toBe("handed_over");
      await new Promise((r) => setTimeout(r, 100));
      expect(stopped).toBe(false);
      expect(sessions.handOver(socks[2]!.s.conn!.id, users[2]!, 1)?.result).toBe("handed_over");
      const t0 = Date.now();
      await stopping;
      expect(Date.now() - t0).toBeLessThan(1_000);
    });

    it("stops at the handover deadline when a drained connection is never claimed", async () => {
      const { sessions, open } = setup({ handoverMs: 200 });
      const o = open(actorOf(newId()));
      await o.bound;
      await sessions.drain(0);
      const t0 = Date.now();
      await sessions.stop();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
      expect(o.s.conn!.dead).toBe(false);
    });
  });

  describe("shed (rebalancing)", () => {
    it("closes the sockets of as many connections as asked with 4000, keeps them for a resume, and resumes one locally", async () => {
      const { sessions, connections, open } = setup();
      const users = Array.from({ length: 10 }, () => newId());
      const socks = await Promise.all(
        users.map(async (u) => {
          const o = open(actorOf(u));
          await o.bound;
          return o;
        }),
      );
      expect(await sessions.shed(4, 50)).toBe(4);
      const shed = socks.filter((o) => o.sock.closedWith !== undefined);
      expect(shed.map((o) => o.sock.closedWith)).toEqual([4000, 4000, 4000, 4000]);
      expect(connections.countAttached()).toBe(6);
      // Every connection is still here, claimable elsewhere or resumable here.
      expect(shed.every((o) => connections.get(o.s.conn!.id) === o.s.conn && !o.s.conn!.dead)).toBe(true);
      const first = shed[0]!;
      const back = open(actorOf(first.s.actor!.userId), { connectionId: first.s.conn!.id, sequence: 1 });
      expect(await back.bound).toBe(true);
      expect(back.s.conn).toBe(first.s.conn);
      expect(back.sock.frames).toEqual([]);
      // Never more than the open sockets.
      expect(await sessions.shed(100, 0)).toBe(7);
      expect(connections.countAttached()).toBe(0);
    });

    it("sheds nobody once the drain began: its batches close the rest", async () => {
      const { sessions, connections, open } = setup({ handoverMs: 0 });
      for (let i = 0; i < 10; i++) await open(actorOf(newId())).bound;
      const draining = sessions.drain(500);
      expect(connections.countAttached()).toBeGreaterThan(0);
      expect(await sessions.shed(10, 0)).toBe(0);
      await draining;
      expect(connections.countAttached()).toBe(0);
    });
  });
});
