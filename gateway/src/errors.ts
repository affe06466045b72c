/**
 * Where the gateway's failures become wire signals: WebSocket close codes (one table) and
 * HTTP statuses with Mattermost's error body.
 *
 * Close codes: 4000-4499 the client should reconnect (stock Mattermost clients reconnect on
 * any close); 4500-4999 the connection must not continue as it was. Reasons are short ASCII.
 */
import { type AppError, type ErrorCode } from "@switchboard/model";

export const CloseCode = {
  /** RFC 6455: frame over the inbound limit. */
  MessageTooBig: 1009,
  /** The gateway is shutting down or draining: reconnect (to another pod). */
  ServerShuttingDown: 4000,
  /** The socket could not keep up (too many unsent bytes or events): reconnect and resume. */
  SlowConsumer: 4002,
  /** Not authenticated within the allowed time, or the authentication_challenge failed. */
  AuthenticationFailed: 4500,
  /** The session was revoked or expired. */
  SessionRevoked: 4501,
  /** A frame that is not a valid request (undecodable JSON or msgpack). */
  ProtocolViolation: 4502,
  /** Bad resume parameters (invalid connection_id, missing sequence_number). */
  BadResumeParameters: 4503,
  /** The connection's queue overflowed while it was away: its state is gone, resync. */
  QueueOverflow: 4504,
} as const;

export const CloseReason: Record<number, string> = {
  [CloseCode.MessageTooBig]: "message too big",
  [CloseCode.ServerShuttingDown]: "server shutting down",
  [CloseCode.SlowConsumer]: "slow consumer",
  [CloseCode.AuthenticationFailed]: "authentication failed",
  [CloseCode.SessionRevoked]: "session revoked",
  [CloseCode.ProtocolViolation]: "invalid frame",
  [CloseCode.BadResumeParameters]: "invalid connection_id or sequence_number",
  [CloseCode.QueueOverflow]: "queue overflow",
};

const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  not_found: 404,
  already_exists: 400,
  permission_denied: 403,
  unauthenticated: 401,
  failed_precondition: 400,
  resource_exhausted: 413,
  unavailable: 503,
  deadline_exceeded: 504,
  unimplemented: 501,
  internal: 500,
};

const STATUS_LINES: Record<number, string> = {
  200: "200 OK",
  201: "201 Created",
  400: "400 Bad Request",
  401: "401 Unauthorized",
  403: "403 Forbidden",
  404: "404 Not Found",
  405: "405 Method Not Allowed",
  413: "413 Request Entity Too Large",
  500: "500 Internal Server Error",
  501: "501 Not Implemented",
  503: "503 Service Unavailable",
  504: "504 Gateway Timeout",
};

/** The HTTP status line for a status code. */
export function statusLine(status: number): string {
  return STATUS_LINES[status] ?? `${status} Status`;
}

export function httpStatusOf(e: AppError): number {
  return HTTP_STATUS[e.code];
}

/** Mattermost's AppError JSON (model/utils.go). */
export function errorBody(e: AppError, requestId: string): Record<string, unknown> {
  const status = httpStatusOf(e);
  return {
    id: e.id,
    message: e.code === "internal" ? "An internal error occurred." : e.message,
    detailed_error: "",
    request_id: requestId,
    status_code: status,
  };
}

