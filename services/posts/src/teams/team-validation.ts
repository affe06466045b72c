import { invalidArgument } from "@switchboard/model";
import { runeLength } from "../validation.js";

/** Names Mattermost reserves for its own URLs (model.reservedName). */
const RESERVED_TEAM_NAMES = new Set([
  "admin",
  "api",
  "channel",
  "claim",
  "error",
  "files",
  "help",
  "landing",
  "login",
  "mfa",
  "oauth",
  "plug",
  "plugins",
  "post",
  "signup",
  "boards",
  "playbooks",
]);

const TEAM_NAME_RE = /^[a-z0-9]+([a-z0-9-]*[a-z0-9]+)?$/;

export interface NewTeam {
  readonly name: string;
  readonly displayName: string;
  readonly type: "O" | "I";
  readonly description: string;
  readonly email: string;
  readonly allowOpenInvite: boolean;
}

/** Mattermost's Team.IsValid / IsValidTeamName for the fields a client sets. */
export function validateNewTeam(input: {
  name: string;
  displayName: string;
  type: string;
  description: string;
  email: string;
  allowOpenInvite: boolean;
}): NewTeam {
  const name = input.name.trim().toLowerCase();
  if (name.length < 2 || name.length > 64 || !TEAM_NAME_RE.test(name) || RESERVED_TEAM_NAMES.has(name)) {
    throw invalidArgument(
      "model.team.is_valid.url.app_error",
      "Team name must be 2-64 lowercase letters, digits or '-', start and end with a letter or digit, and not be a reserved word.",
    );
  }
  const displayName = input.displayName.trim();
  if (displayName === "" || runeLength(displayName) > 64) {
    throw invalidArgument("model.team.is_valid.name.app_error", "Team display name must be 1-64 characters.");
  }
  const type = input.type === "" ? "O" : input.type;
  if (type !== "O" && type !== "I") throw invalidArgument("model.team.is_valid.type.app_error", 'Team type must be "O" (open) or "I" (invite only).');
  if (runeLength(input.description) > 255)
    throw invalidArgument("model.team.is_valid.description.app_error", "Team description must be at most 255 characters.");
  const email = input.email.trim();
  if (email.length > 128 || (email !== "" && !/^[^\s@]+@[^\s@]+$/.test(email))) {
    throw invalidArgument("model.team.is_valid.email.app_error", "Team email must be a valid address.");
  }
  return { name, displayName, type, description: input.description, email, allowOpenInvite: input.allowOpenInvite };
}
