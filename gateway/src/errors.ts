/**
 * Where the gateway's failures become wire signals: WebSocket close codes (their table is a
 * client contract, kept with the other cross-process contracts in @switchboard/bus) and HTTP
 * statuses with Mattermost's error body.
 */
import { type AppError, type ErrorCode } from "@switchboard/model";

export { CloseCode, CloseReason } from "@switchboard/bus";

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
  429: "429 Too Many Requests",
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
  // A rate limit (resource_exhausted with a retry-after) is 429, as Mattermost's limiter answers.
  if (e.retryAfterMs !== undefined && e.code === "resource_exhausted") return 429;
  return HTTP_STATUS[e.code];
}

/** Retry-After (whole seconds, at least 1) for an error that carries one. */
export function retryAfterHeader(e: AppError): readonly [string, string] | undefined {
  return e.retryAfterMs === undefined ? undefined : ["Retry-After", String(Math.max(1, Math.ceil(e.retryAfterMs / 1000)))];
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
