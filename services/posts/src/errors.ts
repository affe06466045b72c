/**
 * This service's failures, with the Mattermost i18n ids a client knows. Refusals (permission
 * denied, and "not found" for channels the caller may not know about) are remembered so the
 * gRPC layer can count them without string matching.
 */
import { AppError, invalidArgument, notFound, permissionDenied } from "@switchboard/model";

const denials = new WeakSet<AppError>();

/** True for errors that refused a caller (counted in sb_posts_permission_denials_total). */
export function isDenial(e: unknown): boolean {
  return e instanceof AppError && denials.has(e);
}

function refusal(e: AppError): AppError {
  denials.add(e);
  return e;
}

export const denied = (message = "You do not have the appropriate permissions."): AppError =>
  refusal(permissionDenied("api.context.permissions.app_error", message));

export const invalidId = (name: string): AppError =>
  invalidArgument("api.context.invalid_url_param.app_error", `Invalid or missing ${name} parameter: must be a 26-character id.`);

export const channelNotFound = (): AppError => notFound("app.channel.get.existing.app_error", "Unable to find the existing channel.");

/** A channel that exists but that the caller may not see: indistinguishable from a missing one. */
export const channelHidden = (): AppError => refusal(channelNotFound());

export const teamNotFound = (): AppError => notFound("app.team.get.find.app_error", "Unable to find the existing team.");

export const postNotFound = (): AppError => notFound("app.post.get.app_error", "Unable to get the post.");

export const memberNotFound = (): AppError => notFound("app.channel.get_member.missing.app_error", "No channel member found for that user ID and channel ID.");

export const userNotFound = (): AppError => notFound("app.user.missing_account.const", "Unable to find the user.");

export const deletedChannel = (): AppError => new AppError("failed_precondition", "The channel has been archived or deleted.", "api.channel.deleted.app_error");

/** Thrown when the call's deadline passed or the client went away before commit. */
export function abortedCall(signal: AbortSignal): AppError {
  const reason: unknown = signal.reason;
  if (reason instanceof AppError) return reason;
  return new AppError("deadline_exceeded", "the call was cancelled before it completed", "api.context.deadline_exceeded.app_error");
}
