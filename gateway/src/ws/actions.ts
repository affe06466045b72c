/**
 * Client requests (docs/protocol.md §3), routed as Mattermost's websocket_router.go and wsapi do:
 * common checks, authentication_challenge, presence, the authentication check, then the
 * handlers. Every handled request gets an OK or FAIL reply with seq_reply; `custom_*` actions
 * belong to plugins and get none.
 */
import { encodeEvent, EventName, subjects, type Bus } from "@switchboard/bus";
import type { SessionAuth } from "@switchboard/auth";
import type { Logger } from "@switchboard/log";
import { AppError, isValidId, newEvent, newId } from "@switchboard/model";
import type { PresenceClient } from "@switchboard/rpc";
import type { Connection } from "../connections/connection.js";
import { CloseCode, httpStatusOf } from "../errors.js";
import type { GatewayMetrics } from "../metrics.js";
import type { PresenceReports } from "../presence/presence-reporter.js";
import { failReply, okReply } from "../protocol/outbound.js";
import type { WsRequest } from "../protocol/inbound.js";
import type { Fanout } from "../routing/fanout.js";
import { takeCommand, type CommandRate } from "./command-rate.js";
import type { Sessions, SocketState } from "./sessions.js";

export interface ActionsOptions {
  readonly sessions: Pick<Sessions, "end" | "authenticate">;
  readonly auth: SessionAuth;
  readonly fanout: Pick<Fanout, "isChannelMember">;
  readonly bus: Bus;
  readonly presence: PresenceClient;
  readonly presenceReporter: PresenceReports;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  readonly serverVersion: string;
  readonly rpcDeadlineMs: number;
  /** Per-connection request limit (absent: none). */
  readonly commandRate?: CommandRate;
}

type Handler = (conn: Connection, data: Record<string, unknown>) => unknown;

const KNOWN = new Set([
  "authentication_challenge",
  "presence",
  "ping",
  "user_typing",
  "user_update_active_status",
  "get_statuses",
  "get_statuses_by_ids",
  "posted_notify_ack",
]);
const MAX_STATUS_IDS = 1000;

function invalidParam(name: string): AppError {
  return new AppError("invalid_argument", `Invalid ${name} parameter.`, "api.websocket_handler.invalid_param.app_error");
}

export class Actions {
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly o: ActionsOptions) {
    this.handlers = {
      ping: () => ({ text: "pong", version: o.serverVersion, server_time: Date.now(), node_id: "" }),
      user_typing: (conn, data) => this.userTyping(conn, data),
      user_update_active_status: (conn, data) => {
        if (typeof data.user_is_active !== "boolean") throw invalidParam("user_is_active");
        const manual = data.manual === true;
        o.presenceReporter.activity(conn.userId, data.user_is_active, manual);
        return undefined;
      },
      get_statuses: async (conn) => {
        const r = await o.presence.listActiveStatuses({}, { token: conn.token, deadlineMs: o.rpcDeadlineMs });
        return Object.fromEntries(r.statuses.map((s) => [s.userId, s.status]));
      },
      get_statuses_by_ids: async (conn, data) => {
        const ids = data.user_ids;
        if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_STATUS_IDS || !ids.every(isValidId)) throw invalidParam("user_ids");
        const r = await o.presence.getStatuses({ userIds: ids }, { token: conn.token, deadlineMs: o.rpcDeadlineMs });
        return Object.fromEntries(r.statuses.map((s) => [s.userId, s.status]));
      },
      // Mattermost only counts these for metrics.
      posted_notify_ack: () => undefined,
    };
  }

  /** Handles one parsed request from a socket: first the socket's request limit, then the request. */
  accept(s: SocketState, req: WsRequest): void {
    const rate = this.o.commandRate;
    const verdict = rate ? takeCommand(s, rate, performance.now()) : "ok";
    if (verdict === "ok") return this.handle(s, req);
    this.o.metrics.limitHit("ws_command_rate");
    const who = { user_id: s.actor?.userId ?? "", client_ip: s.clientIp, per_sec: rate!.perSec, burst: rate!.burst };
    if (verdict === "close") {
      this.o.log.warn({ audit: "limit_hit", limit: "ws_command_rate", ...who }, "websocket closed: requests over the limit");
      this.o.sessions.end(s, CloseCode.RateLimited);
      return;
    }
    // One line per episode: the first refusal after an accepted request.
    if (s.cmdRefused === 1) this.o.log.warn({ audit: "limit_hit", limit: "ws_command_rate", ...who }, "websocket requests over the limit");
    const action = KNOWN.has(req.action) ? req.action : "unknown";
    this.fail(s, req.seq, action, "api.context.rate_limit.app_error", "Too many requests. Slow down.", 429);
  }

  /** Handles one parsed request from a socket. */
  handle(s: SocketState, req: WsRequest): void {
    const action = KNOWN.has(req.action) ? req.action : req.action.startsWith("custom_") ? "custom" : "unknown";
    if (req.action === "") return this.fail(s, req.seq, action, "api.web_socket_router.no_action.app_error", "No websocket action.", 400);
    if (req.seq <= 0) return this.fail(s, req.seq, action, "api.web_socket_router.bad_seq.app_error", "Invalid sequence for websocket message.", 400);

    if (req.action === "authentication_challenge") {
      void this.challenge(s, req);
      return;
    }
    if (req.action === "presence") {
      this.presence(s, req.data);
      return this.ok(s, req.seq, action, undefined);
    }
    const conn = s.conn;
    if (!conn && s.actor && !s.closed) {
      // Authenticated at the upgrade, connection still being bound (routes loading): the
      // stock client pings right on open. Handle it once bound, in order.
      (s.deferred ??= []).push(req);
      return;
    }
    if (!conn) {
      return this.fail(s, req.seq, action, "api.web_socket_router.not_authenticated.app_error", "No websocket session.", 401);
    }
    if (req.action.startsWith("custom_")) {
      this.o.metrics.wsRequest("custom", "none");
      return;
    }
    const h = this.handlers[req.action];
    if (!h) return this.fail(s, req.seq, action, "api.web_socket_router.bad_action.app_error", "Invalid websocket action.", 500);
    Promise.resolve()
      .then(() => h(conn, req.data))
      .then(
        (data) => this.ok(s, req.seq, action, data),
        (e: unknown) => {
          const err = AppError.from(e);
          if (err.code !== "internal") return this.fail(s, req.seq, action, err.id, err.message, httpStatusOf(err));
          // The detail stays in the log, under an id the reply carries (Mattermost's request_id).
          const requestId = newId();
          this.o.log.error({ action, err: e, request_id: requestId }, "websocket action failed");
          this.fail(s, req.seq, action, err.id, "An internal error occurred.", httpStatusOf(err), requestId);
        },
      );
  }

  /** Handles the requests that arrived before the socket was bound to its connection. */
  handleDeferred(s: SocketState): void {
    const list = s.deferred;
    s.deferred = undefined;
    for (const req of list ?? []) this.handle(s, req);
  }

  /** Mattermost: silent when already authenticated; close (no FAIL) on a missing or bad token. */
  private async challenge(s: SocketState, req: WsRequest): Promise<void> {
    if (s.conn || s.actor) return;
    const token = req.data.token;
    if (typeof token !== "string" || token === "") {
      this.o.metrics.authFailed("challenge");
      this.o.log.warn({ audit: "auth_failed", stage: "challenge", client_ip: s.clientIp, reason: "no token" }, "websocket authentication failed");
      this.o.sessions.end(s, CloseCode.AuthenticationFailed);
      return;
    }
    let actor;
    try {
      actor = await this.o.auth.verify(token);
    } catch (e: unknown) {
      this.o.metrics.wsRequest("authentication_challenge", "FAIL");
      this.o.metrics.authFailed("challenge");
      this.o.log.warn({ audit: "auth_failed", stage: "challenge", client_ip: s.clientIp, reason: AppError.from(e).id }, "websocket authentication failed");
      this.o.sessions.end(s, CloseCode.AuthenticationFailed);
      return;
    }
    if (s.closed || s.conn) return;
    if (await this.o.sessions.authenticate(s, actor, token)) {
      // hello (queued and flushed by authenticate) goes before the OK, as with Mattermost.
      this.ok(s, req.seq, "authentication_challenge", undefined);
    }
  }

  private presence(s: SocketState, data: Record<string, unknown>): void {
    const target = s.conn ?? s.early;
    if (typeof data.channel_id === "string") target.activeChannelId = data.channel_id;
    if (typeof data.team_id === "string") target.activeTeamId = data.team_id;
    if (typeof data.thread_channel_id === "string") {
      if (data.is_thread_view === true) target.activeThreadViewChannelId = data.thread_channel_id;
      else target.activeRhsThreadChannelId = data.thread_channel_id;
    }
  }

  /** Publishes `typing` to the channel's members (best effort, like Mattermost's cluster send). */
  private userTyping(conn: Connection, data: Record<string, unknown>): undefined {
    const channelId = data.channel_id;
    if (!isValidId(channelId)) throw invalidParam("channel_id");
    if (!this.o.fanout.isChannelMember(conn.userId, channelId)) throw invalidParam("channel_id");
    const parentId = typeof data.parent_id === "string" && isValidId(data.parent_id) ? data.parent_id : "";
    const ev = newEvent({
      event: EventName.Typing,
      data: { parent_id: parentId, user_id: conn.userId },
      broadcast: { channelId, omitUsers: [conn.userId] },
    });
    this.o.bus.publish(subjects.channelEphemeral(channelId), encodeEvent(ev));
    return undefined;
  }

  private ok(s: SocketState, seq: number, action: string, data: unknown): void {
    this.o.metrics.wsRequest(action, "OK");
    this.send(s, okReply(seq, data));
  }

  private fail(s: SocketState, seq: number, action: string, id: string, message: string, status: number, requestId = ""): void {
    this.o.metrics.wsRequest(action, "FAIL");
    this.send(s, failReply(seq, id, message, status, requestId));
  }

  private send(s: SocketState, frame: string): void {
    if (s.closed) return;
    s.port.cork(() => s.port.send(frame));
  }
}
