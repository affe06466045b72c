/**
 * The presence service's failures. packages/rpc maps the codes to gRPC statuses; the ids are
 * Mattermost's i18n ids where Mattermost has the same failure.
 */
import { AppError, invalidArgument, permissionDenied } from "@switchboard/model";

export const badParam = (param: string, detail?: string): AppError =>
  invalidArgument("api.context.invalid_body_param.app_error", `Invalid or missing ${param} in request body.${detail ? ` ${detail}` : ""}`);

export const tooManyIds = (max: number): AppError => invalidArgument("api.status.get_statuses.too_many.app_error", `At most ${max} user ids per call.`);

export const cannotSetOthers = (): AppError => permissionDenied("api.context.permissions.app_error", "You do not have the appropriate permissions.");

/** The gateway must acquire a new lease and send a full snapshot. */
export const leaseGone = (why: "expired" | "released" | "unknown"): AppError =>
  new AppError("failed_precondition", `The lease is ${why}: acquire a new lease and report a full snapshot.`, "presence.report.lease_gone.app_error");

/** Too many writers on one key for too long; the caller may retry. */
export const contended = (key: string): AppError => new AppError("unavailable", `Too much contention on ${key}; retry.`, "presence.store.contended.app_error");
