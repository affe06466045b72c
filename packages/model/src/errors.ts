/** The closed set of error kinds every component maps at its boundary (gRPC status, HTTP, WS). */
export type ErrorCode =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "unauthenticated"
  | "failed_precondition"
  | "resource_exhausted"
  | "unavailable"
  | "deadline_exceeded"
  /** The request is understood but this server does not serve that form of it. */
  | "unimplemented"
  | "internal";

/**
 * A failure a caller can act on. `id` is the Mattermost i18n id shown to clients
 * (e.g. "api.post.create_post.channel_not_found"); `message` is safe to show.
 */
export class AppError extends Error {
  override readonly name = "AppError";
  /** A rate limit's answer: when the caller may try again (HTTP 429 with Retry-After). */
  readonly retryAfterMs: number | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly id: string = defaultId(code),
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** Normalizes anything caught at a boundary; unknown failures become `internal`. */
  static from(e: unknown): AppError {
    if (e instanceof AppError) return e;
    return new AppError("internal", "internal error", "app.internal_error", { cause: e });
  }
}

function defaultId(code: ErrorCode): string {
  return `app.error.${code}`;
}

/** Shorthands for the common cases. */
export const invalidArgument = (id: string, message: string) => new AppError("invalid_argument", message, id);
export const notFound = (id: string, message: string) => new AppError("not_found", message, id);
export const permissionDenied = (id: string, message: string) => new AppError("permission_denied", message, id);

/** A rate limit was hit: `resource_exhausted` with the time until the caller may try again. */
export const rateLimited = (id: string, message: string, retryAfterMs: number) =>
  new AppError("resource_exhausted", message, id, { retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) });
