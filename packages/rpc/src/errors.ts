import { status as Status, type ServiceError } from "@grpc/grpc-js";
import { AppError, type ErrorCode } from "@switchboard/model";
import type { CallStatus } from "./call.js";

/** The metadata key carrying the Mattermost error id across a gRPC hop. */
export const ERROR_ID_KEY = "sb-error-id";
/** The metadata key carrying a rate limit's retry-after (milliseconds) across a gRPC hop. */
const RETRY_AFTER_KEY = "sb-retry-after-ms";

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

/** The status a handler's failure becomes on the wire; internals never leave the process. */
export function toCallStatus(e: AppError): CallStatus {
  const metadata: [string, string][] = [[ERROR_ID_KEY, e.id]];
  if (e.retryAfterMs !== undefined) metadata.push([RETRY_AFTER_KEY, String(e.retryAfterMs)]);
  return { code: toGrpc[e.code], details: e.code === "internal" ? "internal error" : e.message, metadata };
}

/** A failed call as seen by the caller: an AppError with the server's code, id and message. */
export function fromServiceError(e: ServiceError, method: string): AppError {
  const code = fromGrpc.get(e.code) ?? "internal";
  const idValues = e.metadata?.get(ERROR_ID_KEY);
  const id = idValues && idValues.length > 0 ? String(idValues[0]) : `rpc.${code}`;
  const retry = Number(e.metadata?.get(RETRY_AFTER_KEY)[0] ?? NaN);
  return new AppError(code, e.details || `${method} failed`, id, { cause: e, ...(retry > 0 ? { retryAfterMs: retry } : {}) });
}
