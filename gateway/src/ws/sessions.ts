/**
 * The life of Mattermost connections on this gateway: authenticated opens (fresh, or a resume
 * with connection_id + sequence_number: replay, lossless or resync, docs/protocol.md §5.3), the
 * 5-second window for authentication_challenge, sockets going away while the connection keeps
 * queueing for the resume window, slow sockets, revoked sessions.
 */
import { EventName } from "@switchboard/bus";
import type { Component } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import { newId } from "@switchboard/model";
import type { Actor } from "@switchboard/tokens";
import { Connection, type ConnectionLimits } from "../connections/connection.js";
import type { ConnectionTable } from "../connections/connection-table.js";
import type { SocketPort } from "../connections/socket-port.js";
import { CloseCode, CloseReason } from "../errors.js";
import type { GatewayMetrics } from "../metrics.js";
import type { PresenceReports } from "../presence/presence-reporter.js";
import { broadcastJson, renderEvent } from "../protocol/outbound.js";
import type { WsRequest } from "../protocol/inbound.js";
import type { DeliveryTroubles, Fanout } from "../routing/fanout.js";
import type { ConnectionHolder, Handover } from "../resume/resume-holder.js";
import type { ResumeClaims } from "../resume/resume-claims.js";
import { closeInBatches } from "../resume/close-in-batches.js";
import type { CommandBucket } from "./command-rate.js";
import { create } from "@bufbuild/protobuf";
import { BroadcastSchema } from "@switchboard/proto/events";

/** Per-socket state, created at upgrade. */
export interface SocketState extends CommandBucket {
  readonly port: SocketPort;
  /** Resume parameters from the upgrade URL. */
  readonly resume: { readonly connectionId: string; readonly sequence: number | undefined; readonly invalid: boolean };
  readonly postedAck: boolean;
  /** Set when the upgrade carried a valid session. */
  actor: Actor | undefined;
  token: string;
  conn: Connection | undefined;
  /** The connection id reported open to presence for this socket. */
  reportedId: string;
  /** The client's address (http/client-ip.ts): logs, and presence's per-address limit. */
  readonly clientIp: string;
  authTimer: NodeJS.Timeout | undefined;
  closed: boolean;
  /** Requests that arrived while the connection was being bound (handled right after). */
  deferred: WsRequest[] | undefined;
  /** `presence` values sent before authentication, applied once a connection exists. */
  early: Partial<Pick<Connection, "activeChannelId" | "activeTeamId" | "activeRhsThreadChannelId" | "activeThreadViewChannelId">>;
}

/** A socket's state at the upgrade (`actor` set when the upgrade carried a valid session). */
export function newSocketState(
  port: SocketPort,
  resume: SocketState["resume"],
  postedAck: boolean,
  actor: Actor | undefined,
  token: string,
  clientIp: string,
): SocketState {
  return {
    port,
    resume,
    postedAck,
    actor,
    token,
    clientIp,
    conn: undefined,
    reportedId: "",
    authTimer: undefined,
    closed: false,
    deferred: undefined,
    early: {},
    // A full bucket (takeCommand caps it at the burst).
    cmdTokens: Number.POSITIVE_INFINITY,
    cmdRefilledAt: 0,
    cmdRefused: 0,
  };
}

export interface SessionsOptions {
  readonly fanout: Fanout;
  readonly connections: ConnectionTable;
  readonly presence: PresenceReports;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  readonly limits: ConnectionLimits;
  readonly authTimeoutMs: number;
  readonly resumeWindowMs: number;
  /** How long a socket may stay at its byte budget with events waiting before it is closed. */
  readonly stallTimeoutMs: number;
  /** Asks other gateways for connections not held here (absent: such a reconnect gets a new connection). */
  readonly claims?: ResumeClaims;
  /** How long a stop waits for other gateways to claim the connections left here (drain). */
  readonly handoverMs?: number;
  /** What hello reports as server_version (versionId()). */
  readonly versionId: string;
  readonly hostname: string;
}

export class Sessions implements DeliveryTroubles, ConnectionHolder, Component {
  readonly name = "sessions";
  private readonly connections: ConnectionTable;
  private readonly stalled = new Map<Connection, number>();
  /** The connections whose sockets the drain closed: stop waits for them to be claimed. */
  private closedByDrain: Connection[] = [];
  private draining = false;
  /** Connections recording events while another gateway is asked for them (not in the table yet). */
  private readonly claiming = new Map<Connection, SocketState>();
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(private readonly o: SessionsOptions) {
    this.log = o.log.child({ part: "sessions" });
    this.connections = o.connections;
    o.metrics.countDetachedWith(() => o.connections.countDetached());
    o.metrics.countStalledWith(() => this.stalled.size);
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => this.sweep(), 1_000);
    this.timer.unref();
  }

  /**
   * Waits (up to handoverMs) until every connection the drain closed has been claimed by
   * another gateway (or forgotten): the drain's last step before NATS goes.
   */
  async stop(): Promise<void> {
    const deadline = Date.now() + (this.o.handoverMs ?? 0);
    let left = this.unclaimed();
    while (left > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      left = this.unclaimed();
    }
    if (this.closedByDrain.length > 0) this.log.info({ drained: this.closedByDrain.length, unclaimed: left }, "resume handover over");
    if (this.timer) clearInterval(this.timer);
  }

  private unclaimed(): number {
    let n = 0;
    for (const c of this.closedByDrain) if (!c.dead) n++;
    return n;
  }

  /**
   * A socket opened. Authenticated ones get their connection now; others get 5 seconds.
   * Resolves true when the socket was bound to its connection right away (requests that
   * arrived meanwhile can be handled now).
   */
  async opened(s: SocketState): Promise<boolean> {
    this.o.metrics.socketOpened();
    if (s.resume.invalid) {
      // Mattermost closes right after the upgrade on a bad connection_id / sequence_number.
      this.end(s, CloseCode.BadResumeParameters);
      return false;
    }
    if (s.actor) return this.authenticate(s, s.actor, s.token);
    s.authTimer = setTimeout(() => {
      if (s.conn || s.closed) return;
      this.o.metrics.authFailed("timeout");
      this.log.warn({ audit: "auth_failed", stage: "timeout", client_ip: s.clientIp }, "websocket not authenticated in time");
      this.end(s, CloseCode.AuthenticationFailed);
    }, this.o.authTimeoutMs);
    return false;
  }

  /**
   * Binds an authenticated socket to a connection: a resumed one when the client names a
   * connection of the same user that is still here, otherwise a fresh one with `hello`.
   * Resolves when the connection is live (hello queued or replay positioned).
   */
  async authenticate(s: SocketState, actor: Actor, token: string): Promise<boolean> {
    if (s.authTimer) clearTimeout(s.authTimer);
    s.actor = actor;
    s.token = token;
    try {
      await this.o.fanout.claim(actor.userId, token);
    } catch (e: unknown) {
      this.log.warn({ user_id: actor.userId, err: e }, "loading the user's routes failed");
      this.end(s, CloseCode.ServerShuttingDown);
      return false;
    }
    if (s.closed) {
      this.o.fanout.abandon(actor.userId);
      return false;
    }
    const { connectionId, sequence } = s.resume;
    const local = connectionId ? this.connections.get(connectionId) : undefined;
    let conn: Connection;
    if (!local && connectionId && sequence !== undefined && this.o.claims) {
      const claimed = await this.claimElsewhere(s, actor, token, connectionId, sequence);
      if (!claimed) return false;
      conn = claimed;
    } else {
      conn = this.resumeOrCreate(s, actor, token, local);
      this.o.fanout.attach(conn);
    }
    if (!(await this.admit(s, conn))) return false;
    this.bind(s, conn);
    if (this.draining) {
      // Bound after the drain's batches went (its claim was under way): it goes the same way.
      this.closedByDrain.push(conn);
      this.end(s, CloseCode.ServerShuttingDown);
      return false;
    }
    return true;
  }

  /** A new connection (new id, hello) for a socket whose earlier routing claim was used up. */
  private async fresh(s: SocketState, actor: Actor, token: string): Promise<Connection | undefined> {
    try {
      await this.o.fanout.claim(actor.userId, token);
    } catch (e: unknown) {
      this.log.warn({ user_id: actor.userId, err: e }, "loading the user's routes failed");
      this.end(s, CloseCode.ServerShuttingDown);
      return undefined;
    }
    if (s.closed) {
      this.o.fanout.abandon(actor.userId);
      return undefined;
    }
    const conn = new Connection(newId(), actor, token, this.o.limits);
    this.connections.add(conn);
    this.pushHello(conn);
    this.o.fanout.attach(conn);
    return conn;
  }

  /**
   * Presence's admission of the connection, before anything (hello) is written to the socket:
   * once it answers, the user reads online on every presence replica. Refused (the user or the
   * address holds the most connections allowed across the cluster): the connection is forgotten
   * and the socket closed with 4003. False when the socket must not be bound.
   */
  private async admit(s: SocketState, conn: Connection): Promise<boolean> {
    s.reportedId = conn.id;
    conn.clientIp = s.clientIp;
    // Not attached yet: the sweep must not take it for a connection past its resume window.
    if (!conn.attached) conn.detachedAt = Date.now();
    const verdict = await this.o.presence.opened(conn.id, conn.userId, s.clientIp);
    if (verdict !== "admitted") {
      s.reportedId = "";
      this.o.metrics.limitHit(verdict === "ip_limit" ? "ws_connections_per_ip" : "ws_connections_per_user");
      this.log.warn({ audit: "limit_hit", limit: verdict, user_id: conn.userId, client_ip: s.clientIp }, "websocket refused: too many connections");
      this.forget(conn, CloseCode.TooManyConnections);
      this.end(s, CloseCode.TooManyConnections);
      return false;
    }
    if (s.closed || conn.dead) {
      // The socket (or the connection) went while presence answered: presence hears of it, and
      // the connection, if alive, stays for a resume.
      s.reportedId = "";
      this.o.presence.closed(conn.id, conn.userId, s.clientIp);
      if (!conn.dead && !conn.attached) conn.detachedAt = Date.now();
      return false;
    }
    return true;
  }

  /** A connection presence refused after admitting it unconfirmed (it was unreachable at the time). */
  refusedLate(connectionId: string, reason: string): void {
    const conn = this.connections.get(connectionId);
    if (!conn) return;
    this.log.warn({ audit: "limit_hit", limit: reason, user_id: conn.userId, client_ip: conn.clientIp }, "websocket closed: too many connections");
    this.forget(conn, CloseCode.TooManyConnections);
  }

  /** Gives the socket its connection: live from now on (hello queued or replay positioned). */
  private bind(s: SocketState, conn: Connection): void {
    Object.assign(conn, s.early);
    s.conn = conn;
    conn.socket = s.port;
    conn.detachedAt = 0;
    conn.postedAck = s.postedAck;
    if (!conn.flush()) this.stalledNow(conn);
  }

  /**
   * A reconnect naming a connection another gateway may hold. The user's routing is claimed
   * already; a connection under the same id is attached first so it records the events that
   * arrive from now on (with their ids), and only then is the holder asked. Its answer (the
   * buffered events from `sequence` on) comes first in the log, then what was recorded that
   * it did not contain: nothing is lost between the two gateways and nothing comes twice. No
   * holder, a refusal or a gap: a new connection id and hello, never a partial replay.
   * Undefined when the socket is gone or must be closed.
   */
  private async claimElsewhere(s: SocketState, actor: Actor, token: string, connectionId: string, sequence: number): Promise<Connection | undefined> {
    const conn = new Connection(connectionId, actor, token, this.o.limits);
    this.o.fanout.attach(conn);
    this.claiming.set(conn, s);
    const res = await this.o.claims!.claim(connectionId, actor.userId, sequence);
    this.claiming.delete(conn);
    this.o.metrics.resumeClaim(res.result);
    if (conn.dead) {
      // Its session was revoked meanwhile (the socket is closed), or its queue overflowed
      // while recording: nothing consistent to resume (the holder, if any, has forgotten it
      // too). A new connection, on routing claimed again.
      if (s.closed) return undefined;
      this.log.info({ conn_id: connectionId, user_id: actor.userId, result: res.result }, "queue overflowed during the resume claim: new connection");
      return this.fresh(s, actor, token);
    }
    if (res.result === "claimed") {
      const merged = conn.log.adopt(res.firstSeq, res.frames, res.ids);
      this.log.info({ conn_id: connectionId, holder: res.holder, handed: res.frames.length, merged }, "resumed a connection from another gateway");
    } else {
      if (res.result !== "missed") this.log.info({ conn_id: connectionId, user_id: actor.userId, result: res.result }, "resume claim not granted");
      conn.id = newId();
      conn.log.reset();
      this.pushHello(conn);
    }
    this.connections.add(conn);
    if (s.closed) {
      // The socket went while the holder answered: keep the connection for the next resume.
      conn.detachedAt = Date.now();
      return undefined;
    }
    return conn;
  }

  private resumeOrCreate(s: SocketState, actor: Actor, token: string, prior: Connection | undefined): Connection {
    const { connectionId, sequence } = s.resume;
    if (prior && !prior.dead && prior.userId === actor.userId && sequence !== undefined) {
      if (prior.socket) {
        // The client came back before we saw its old socket die: retire that socket.
        const old = prior.socket;
        prior.socket = undefined;
        old.end(CloseCode.ServerShuttingDown, "replaced by a newer socket");
      }
      prior.actor = actor;
      prior.token = token;
      const before = prior.log.cursorSeq;
      if (prior.log.rewindTo(sequence)) {
        this.o.metrics.resume(sequence < before ? "success" : "lossless");
        return prior;
      }
      // A gap: the client must resync. New id, sequence restarts at 0 with a hello.
      this.o.metrics.resume("failure");
      this.connections.delete(prior);
      prior.id = newId();
      prior.log.reset();
      this.connections.add(prior);
      this.pushHello(prior);
      return prior;
    }
    if (connectionId) this.o.metrics.resume("not_found");
    const conn = new Connection(newId(), actor, token, this.o.limits);
    this.connections.add(conn);
    this.pushHello(conn);
    return conn;
  }

  private pushHello(conn: Connection): void {
    const data = {
      server_version: this.o.versionId,
      connection_id: conn.id,
      server_hostname: this.o.hostname,
    };
    const frame = renderEvent(EventName.Hello, JSON.stringify(data), broadcastJson(create(BroadcastSchema, { userId: conn.userId })));
    conn.log.push(frame.bytes, "");
  }

  /**
   * Another gateway claims a connection (ResumeHolder): hand its events over from `sequence`
   * on and forget it (its socket, if any, is closed), refuse another user's claim, or report
   * a gap (and forget it: the client gets a new connection there).
   */
  handOver(connectionId: string, userId: string, sequence: number): Handover {
    const conn = this.connections.get(connectionId);
    if (!conn || conn.dead) return undefined;
    if (conn.userId !== userId) return { result: "refused" };
    const events = conn.log.from(sequence);
    this.forget(conn, CloseCode.ServerShuttingDown);
    return events ? { result: "handed_over", frames: events.frames, ids: events.ids } : { result: "gap" };
  }

  /** The socket is gone (any reason). The connection keeps queueing for the resume window. */
  closed(s: SocketState, code: number): void {
    if (s.closed) return;
    s.closed = true;
    if (s.authTimer) clearTimeout(s.authTimer);
    this.o.metrics.socketClosed(code);
    const conn = s.conn;
    if (!conn) return;
    if (s.reportedId) this.o.presence.closed(s.reportedId, conn.userId, s.clientIp);
    if (conn.socket === s.port) {
      conn.socket = undefined;
      conn.detachedAt = Date.now();
      this.stalled.delete(conn);
    }
  }

  /** Closes the socket with a documented code (the close handler then runs). */
  end(s: SocketState, code: number): void {
    if (s.closed) return;
    s.port.end(code, CloseReason[code] ?? "");
  }

  /** Forgets a connection: no resume possible any more; its socket (if any) is closed. */
  forget(conn: Connection, code: number): void {
    if (conn.dead) return;
    conn.dead = true;
    this.connections.delete(conn);
    this.stalled.delete(conn);
    this.o.fanout.detach(conn);
    const sock = conn.socket;
    conn.socket = undefined;
    sock?.end(code, CloseReason[code] ?? "");
  }

  /** The queue of a connection overflowed: Mattermost closes and forgets it. */
  overflowed(conn: Connection): void {
    this.o.metrics.queueOverflow();
    this.log.warn({ conn_id: conn.id, user_id: conn.userId }, "connection queue full: closing and forgetting it");
    this.forget(conn, CloseCode.QueueOverflow);
  }

  /** Events for the connection were lost beyond repair: its resume finds nothing (new connection_id and hello). */
  mustResync(conn: Connection): void {
    this.forget(conn, CloseCode.EventsLost);
  }

  stalledNow(conn: Connection): void {
    if (!this.stalled.has(conn)) this.stalled.set(conn, Date.now());
  }

  /** The socket drained: write what waits. */
  drained(conn: Connection): void {
    if (conn.flush()) this.stalled.delete(conn);
  }

  /** Closes every connection of a revoked session (all pods get the same revocation). */
  revokeSession(sessionId: string): void {
    // A Map may lose entries while it is iterated: no copy needed.
    for (const conn of this.connections.values()) if (conn.actor.sessionId === sessionId) this.forget(conn, CloseCode.SessionRevoked);
    for (const [conn, s] of this.claiming) {
      if (conn.actor.sessionId !== sessionId) continue;
      this.forget(conn, CloseCode.SessionRevoked);
      this.end(s, CloseCode.SessionRevoked);
    }
  }

  /**
   * The drain: closes every socket with 4000 (the client reconnects, to another gateway, and
   * resumes there), in batches spread over `spreadMs`. The connections stay, answering
   * claims, until stop.
   */
  async drain(spreadMs: number): Promise<void> {
    const open: Connection[] = [];
    for (const conn of this.connections.values()) if (conn.socket) open.push(conn);
    this.closedByDrain = open;
    this.draining = true;
    this.log.info({ sockets: open.length, spread_ms: spreadMs }, "draining: closing sockets");
    const code = CloseCode.ServerShuttingDown;
    await closeInBatches(open, spreadMs, (conn) => conn.socket?.end(code, CloseReason[code]!));
  }

  /**
   * Rebalancing (rebalancer.ts): closes the sockets of up to `count` connections picked at
   * random, with 4000 like the drain, in batches over `spreadMs`. The connections stay here,
   * answering claims, for the resume window; their clients reconnect through the balancer and
   * resume wherever they land. Resolves with the sockets closed.
   */
  async shed(count: number, spreadMs: number): Promise<number> {
    if (this.draining) return 0;
    const open: Connection[] = [];
    for (const conn of this.connections.values()) if (conn.socket) open.push(conn);
    const n = Math.min(count, open.length);
    // A partial Fisher-Yates shuffle: the first n are a uniform sample.
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(Math.random() * (open.length - i));
      const t = open[i]!;
      open[i] = open[j]!;
      open[j] = t;
    }
    let closed = 0;
    const code = CloseCode.ServerShuttingDown;
    await closeInBatches(open.slice(0, n), spreadMs, (conn) => {
      if (!conn.socket || this.draining) return;
      closed++;
      conn.socket.end(code, CloseReason[code]!);
    });
    return closed;
  }

  private sweep(): void {
    const now = Date.now();
    for (const conn of this.connections.values()) {
      if (conn.actor.expiresAt <= now) this.forget(conn, CloseCode.SessionRevoked);
      else if (!conn.attached && now - conn.detachedAt > this.o.resumeWindowMs) this.forget(conn, CloseCode.ServerShuttingDown);
    }
    for (const [conn, since] of this.stalled) {
      if (now - since < this.o.stallTimeoutMs) continue;
      this.stalled.delete(conn);
      if (conn.socket) {
        this.o.metrics.slowClose();
        this.log.info({ conn_id: conn.id, user_id: conn.userId }, "closing slow socket");
        conn.socket.end(CloseCode.SlowConsumer, CloseReason[CloseCode.SlowConsumer]!);
      }
    }
  }
}
