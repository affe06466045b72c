/**
 * `GET /api/v4/websocket[/]` on uWebSockets.js: the upgrade (Origin, credentials, resume
 * parameters, done before any frame), the inbound size limit (a clean 1009), and the socket
 * callbacks handed to the sessions layer through SocketPort.
 */
import type { SessionAuth } from "@switchboard/auth";
import type { Logger } from "@switchboard/log";
import { AppError, isValidId } from "@switchboard/model";
import type { Actor } from "@switchboard/tokens";
import type { SocketPort } from "../connections/socket-port.js";
import { CloseCode, CloseReason, errorBody, httpStatusOf, statusLine } from "../errors.js";
import { clientIp, type ClientIpPolicy } from "../http/client-ip.js";
import { findCredentials } from "../http/credentials.js";
import { originAllowed, type OriginPolicy } from "../http/origin.js";
import type { GatewayMetrics } from "../metrics.js";
import { parseRequest } from "../protocol/inbound.js";
import type { Actions } from "../ws/actions.js";
import { newSocketState, type Sessions, type SocketState } from "../ws/sessions.js";
import type { UpgradeAdmission } from "./upgrade-admission.js";
import type { Uws } from "./uws.js";

export interface WsEndpointOptions {
  readonly sessions: Sessions;
  readonly actions: Actions;
  readonly auth: SessionAuth;
  readonly origin: OriginPolicy;
  readonly log: Logger;
  readonly maxInboundBytes: number;
  readonly idleTimeoutS: number;
  readonly maxBufferedBytes: number;
  /** False while draining: new upgrades get 503. */
  readonly accepting: () => boolean;
  readonly clientIp: ClientIpPolicy;
  /** Upgrades worked on at once and per second (over either: 503 with Retry-After). */
  readonly admission: UpgradeAdmission;
  readonly metrics: GatewayMetrics;
}

interface UserData {
  state: SocketState;
  /** The client's address (http/client-ip.ts), for the logs. */
  clientIp: string;
  /** Its place in the upgrade admission, given back once the connection is bound or given up. */
  admitted: boolean;
}

/** Frames above this are dropped by uWS without reading them (no close frame). */
const HARD_PAYLOAD_LIMIT = 64 * 1024;

export function registerWsEndpoint(app: Uws.TemplatedApp, o: WsEndpointOptions): void {
  const behavior: Uws.WebSocketBehavior<UserData> = {
    maxPayloadLength: Math.max(HARD_PAYLOAD_LIMIT, o.maxInboundBytes + 1),
    // A socket that sends nothing (no pong either: a peer gone without a FIN, or one that stopped
    // reading) for idleTimeout is closed; uWS pings a quiet socket before that, so a live
    // client's pong keeps it. Our own sends do not count as traffic.
    idleTimeout: o.idleTimeoutS,
    sendPingsAutomatically: true,
    // Above our own budget uWS would start dropping silently: our budget closes first.
    maxBackpressure: o.maxBufferedBytes * 4,
    closeOnBackpressureLimit: 1,
    compression: 0,
    upgrade: (res, req, context) => upgrade(res, req, context, o),
    open: (ws) => {
      const d = ws.getUserData();
      const port = d.state.port as UwsSocketPort;
      port.ws = ws;
      if (o.log.isLevelEnabled("debug")) {
        o.log.debug({ client_ip: d.clientIp, user_id: d.state.actor?.userId, resume: d.state.resume.connectionId !== "" }, "websocket connected");
      }
      // Requests sent right after the upgrade waited for the connection (handled in order).
      void o.sessions.opened(d.state).then(
        (bound) => {
          leave(d, o);
          if (bound) o.actions.handleDeferred(d.state);
        },
        () => leave(d, o),
      );
    },
    message: (ws, message, isBinary) => {
      const s = ws.getUserData().state;
      if (message.byteLength > o.maxInboundBytes) {
        ws.end(CloseCode.MessageTooBig, CloseReason[CloseCode.MessageTooBig]);
        return;
      }
      const parsed = parseRequest(message, isBinary);
      if (!parsed.ok) {
        ws.end(CloseCode.ProtocolViolation, CloseReason[CloseCode.ProtocolViolation]);
        return;
      }
      o.actions.accept(s, parsed.req);
    },
    drain: (ws) => {
      const conn = ws.getUserData().state.conn;
      if (conn) o.sessions.drained(conn);
    },
    close: (ws, code) => {
      const d = ws.getUserData();
      leave(d, o);
      const s = d.state;
      (s.port as UwsSocketPort).ws = undefined;
      o.sessions.closed(s, code);
    },
  };
  app.ws("/api/v4/websocket", behavior);
  app.ws("/api/v4/websocket/", behavior);
}

function leave(d: UserData, o: WsEndpointOptions): void {
  if (!d.admitted) return;
  d.admitted = false;
  o.admission.leave();
}

/** The SocketPort of one uWS socket; inert once the socket closed. */
class UwsSocketPort implements SocketPort {
  ws: Uws.WebSocket<UserData> | undefined;

  send(frame: Uint8Array | string): void {
    this.ws?.send(frame, false, false);
  }
  bufferedAmount(): number {
    return this.ws ? this.ws.getBufferedAmount() : 0;
  }
  cork(fn: () => void): void {
    if (this.ws) this.ws.cork(fn);
  }
  end(code: number, reason: string): void {
    this.ws?.end(code, reason);
  }
}

function upgrade(res: Uws.HttpResponse, req: Uws.HttpRequest, context: Uws.us_socket_context_t, o: WsEndpointOptions): void {
  // Everything from req must be copied now: it is only valid until the first await.
  const key = req.getHeader("sec-websocket-key");
  const protocol = req.getHeader("sec-websocket-protocol");
  const extensions = req.getHeader("sec-websocket-extensions");
  const origin = req.getHeader("origin");
  const host = req.getHeader("host");
  const creds = findCredentials({
    cookie: req.getHeader("cookie"),
    authorization: req.getHeader("authorization"),
    accessTokenQuery: req.getQuery("access_token") ?? "",
  });
  const connectionId = req.getQuery("connection_id") ?? "";
  const seqRaw = req.getQuery("sequence_number") ?? "";
  const postedAck = req.getQuery("posted_ack") === "true";
  const ip = clientIp(o.clientIp, Buffer.from(res.getRemoteAddressAsText()).toString(), (name) => {
    // Every line of the header: a proxy may add a line of its own after the client's.
    let all = "";
    req.forEach((k, v) => {
      if (k === name) all = all ? `${all},${v}` : v;
    });
    return all;
  });
  let aborted = false;
  let admitted = false;
  const giveBack = (): void => {
    if (!admitted) return;
    admitted = false;
    o.admission.leave();
  };
  res.onAborted(() => {
    aborted = true;
    giveBack();
  });

  const reject = (e: AppError, headers: readonly (readonly [string, string])[] = []): void => {
    giveBack();
    if (aborted) return;
    res.cork(() => {
      res.writeStatus(statusLine(httpStatusOf(e))).writeHeader("Content-Type", "application/json");
      for (const [k, v] of headers) res.writeHeader(k, v);
      res.end(JSON.stringify(errorBody(e, "")));
    });
  };

  if (!o.accepting()) return reject(new AppError("unavailable", "The server is shutting down.", "api.web_socket.connect.draining.app_error"));
  const verdict = o.admission.enter();
  if (verdict !== "ok") {
    o.metrics.limitHit(verdict);
    o.log.warn({ audit: "limit_hit", limit: verdict, client_ip: ip, in_progress: o.admission.current }, "websocket upgrade refused: too many at once");
    return reject(new AppError("unavailable", "Too many connections are being opened. Try again shortly.", "api.web_socket.connect.busy.app_error"), [
      ["Retry-After", "1"],
    ]);
  }
  admitted = true;
  if (!originAllowed(origin, host, o.origin)) {
    return reject(new AppError("permission_denied", "Origin not allowed.", "api.web_socket.connect.upgrade.app_error"));
  }
  if (creds.source === "query") {
    return reject(new AppError("unauthenticated", "Token is only allowed in the query string for OAuth sessions.", "api.context.token_provided.app_error"));
  }
  // Mattermost closes the socket right after the upgrade for these (api4/websocket.go).
  const invalid = connectionId !== "" && (!isValidId(connectionId) || !/^\d+$/.test(seqRaw) || !Number.isSafeInteger(Number(seqRaw)));
  const sequence = connectionId !== "" && !invalid ? Number(seqRaw) : undefined;

  const finish = (actor: Actor | undefined): void => {
    if (aborted) return;
    const state = newSocketState(
      new UwsSocketPort(),
      { connectionId: invalid ? "" : connectionId, sequence, invalid },
      postedAck,
      actor,
      actor ? creds.token : "",
      ip,
    );
    // The place in the admission goes with the socket: open hands it back once bound.
    admitted = false;
    res.cork(() => res.upgrade<UserData>({ state, clientIp: ip, admitted: true }, key, protocol, extensions, context));
  };

  if (creds.source === "none") return finish(undefined);
  o.auth.verify(creds.token).then(finish, (e: unknown) => {
    const err = AppError.from(e);
    if (err.code === "internal") o.log.error({ err: e }, "token verification failed");
    else {
      o.metrics.authFailed("upgrade");
      o.log.warn({ audit: "auth_failed", stage: "upgrade", client_ip: ip, reason: err.id }, "websocket authentication failed");
    }
    reject(err);
  });
}
