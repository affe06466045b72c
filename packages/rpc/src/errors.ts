import { status as Status, type ServiceError } from "@grpc/grpc-js";
import { AppError, type ErrorCode } from "@switchboard/model";
import type { CallStatus } from "./call.js";

/** The metadata key carrying the Mattermost error id across a gRPC hop. */
export const ERROR_ID_KEY = "sb-error-id";
/** The metadata key carrying a rate limit's retry-after (milliseconds) across a gRPC hop. */
const RETRY_AFTER_KEY = "sb-retry-after-ms";

/**
 * The metadata key carrying the request id of an internal failure: the server logs the
 * failure's detail under it, the caller gets only the id (as Mattermost's `request_id`).
 */
export const REQUEST_ID_KEY = "sb-request-id";

const toGrpc: Record<ErrorCode, Status> = {
  invalid_argument: Status.INVALID_ARGUMENT,
  not_found: Status.NOT_FOUND,
  already_exists: Status.ALREADY_EXISTS,
  permission_denied: Status.PERMISSION_DENIED,
  unauthenticated: Status.UNAUTHENTICATED,
  failed_precondition: Status.FAILED_PRECONDITION,
  resource_exhausted: Status.RESOURCE_EXHAUSTED,
  unavailable: Status.UNAVAILABLE,
  deadline_exceeded: Status.DEADLINE_EXCEEDED,
  unimplemented: Status.UNIMPLEMENTED,
  internal: Status.INTERNAL,
};

const fromGrpc = new Map<Status, ErrorCode>([
  ...Object.entries(toGrpc).map(([k, v]) => [v, k as ErrorCode] as const),
  [Status.CANCELLED, "unavailable"],
  [Status.UNKNOWN, "internal"],
  [Status.ABORTED, "unavailable"],
  [Status.OUT_OF_RANGE, "invalid_argument"],
  [Status.DATA_LOSS, "internal"],
]);

export function grpcStatusOf(code: ErrorCode): Status {
  return toGrpc[code];
}

/**
 * The status a handler's failure becomes on the wire; internals never leave the process: an
 * internal failure says only "internal error" and, given one, the request id its detail was
 * logged under.
 */
export function toCallStatus(e: AppError, requestId?: string): CallStatus {
  const metadata: [string, string][] = [[ERROR_ID_KEY, e.id]];
  if (e.retryAfterMs !== undefined) metadata.push([RETRY_AFTER_KEY, String(e.retryAfterMs)]);
  if (e.code !== "internal") return { code: toGrpc[e.code], details: e.message, metadata };
  if (requestId === undefined) return { code: Status.INTERNAL, details: "internal error", metadata };
  metadata.push([REQUEST_ID_KEY, requestId]);
  return { code: Status.INTERNAL, details: `internal error (request id ${requestId})`, metadata };
}

/** What a caller is told of a failure the transport made (no server answered with an error of its own). */
const TRANSPORT_MESSAGES: Record<ErrorCode, string> = {
  invalid_argument: "The request was refused.",
  not_found: "Not found.",
  already_exists: "Already exists.",
  permission_denied: "Permission denied.",
  unauthenticated: "Not authenticated.",
  failed_precondition: "The request cannot be served now.",
  resource_exhausted: "The request or its answer is too large.",
  unavailable: "A service is unavailable; retry.",
  deadline_exceeded: "A service did not answer in time.",
  unimplemented: "Not implemented.",
  internal: "internal error",
};

/**
 * A failed call as seen by the caller: an AppError with the server's code, id and message.
 * A status the server did not make itself (it carries no error id: the connection failed, the
 * deadline passed, grpc-js refused a message) says only what kind of failure it was: grpc-js
 * writes addresses and timings into those, which stay in the cause (logged), not the message.
 */
export function fromServiceError(e: ServiceError, method: string): AppError {
  const code = fromGrpc.get(e.code) ?? "internal";
  const idValues = e.metadata?.get(ERROR_ID_KEY);
  if (!idValues || idValues.length === 0) return new AppError(code, TRANSPORT_MESSAGES[code], `rpc.${code}`, { cause: e });
  const retry = Number(e.metadata?.get(RETRY_AFTER_KEY)[0] ?? NaN);
  return new AppError(code, e.details || `${method} failed`, String(idValues[0]), { cause: e, ...(retry > 0 ? { retryAfterMs: retry } : {}) });
}
