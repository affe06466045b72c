import { invalidArgument } from "@switchboard/model";
import { runeLength } from "../validation.js";

/** Mattermost's IsValidChannelIdentifier: lower-case letters, digits, '-' and '_', no "__" (direct channel names use it). */
const CHANNEL_NAME_RE = /^[a-z0-9]+([a-z0-9_-]*[a-z0-9]+)?$/;

export interface NewChannel {
  readonly name: string;
  readonly displayName: string;
  readonly type: "O" | "P";
  readonly purpose: string;
  readonly header: string;
}

export function validateNewChannel(input: { name: string; displayName: string; type: string; purpose: string; header: string }): NewChannel {
  const name = input.name.trim();
  if (name.length < 1 || name.length > 64 || !CHANNEL_NAME_RE.test(name) || name.includes("__")) {
    throw invalidArgument(
      "model.channel.is_valid.2_or_more.app_error",
      "Channel name must be 1-64 lowercase letters, digits, '-' or '_', start and end with a letter or digit, and not contain \"__\".",
    );
  }
  const displayName = input.displayName.trim();
  if (displayName === "" || runeLength(displayName) > 64) {
    throw invalidArgument("model.channel.is_valid.display_name.app_error", "Channel display name must be 1-64 characters.");
  }
  const type = input.type === "" ? "O" : input.type;
  if (type !== "O" && type !== "P") {
    throw invalidArgument(
      "model.channel.is_valid.type.app_error",
      'Channel type must be "O" (public) or "P" (private); direct and group channels have their own calls.',
    );
  }
  if (runeLength(input.purpose) > 250) throw invalidArgument("model.channel.is_valid.purpose.app_error", "Channel purpose must be at most 250 characters.");
  if (runeLength(input.header) > 1024) throw invalidArgument("model.channel.is_valid.header.app_error", "Channel header must be at most 1024 characters.");
  return { name, displayName, type, purpose: input.purpose, header: input.header };
}
