import { invalidArgument } from "@switchboard/model";

// Mattermost's rules (model/user.go): lower-case letters, digits, '.', '-', '_', starting
// with a letter; some names are taken by mentions and system users.
const USERNAME_RE = /^[a-z][a-z0-9._-]{2,63}$/;
const RESERVED = new Set(["all", "channel", "here", "matterbot", "system", "surveybot"]);
const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/;
const PASSWORD_MIN_LENGTH = 8;
const PASSWORD_MAX_LENGTH = 72;

export function normalizeUsername(raw: string): string {
  return raw.trim().toLowerCase();
}

export function validateNewUser(u: { username: string; email: string; password: string }): void {
  if (!USERNAME_RE.test(u.username) || RESERVED.has(u.username)) {
    throw invalidArgument(
      "model.user.is_valid.username.app_error",
      "Username must begin with a letter and contain between 3 and 64 lowercase characters made up of numbers, letters, and the symbols '.', '-', and '_'.",
    );
  }
  if (u.email.length > 128 || !EMAIL_RE.test(u.email)) {
    throw invalidArgument("model.user.is_valid.email.app_error", "Invalid email.");
  }
  if (u.password.length < PASSWORD_MIN_LENGTH || u.password.length > PASSWORD_MAX_LENGTH) {
    throw invalidArgument(
      "model.user.is_valid.pwd.app_error",
      `Your password must contain between ${PASSWORD_MIN_LENGTH} and ${PASSWORD_MAX_LENGTH} characters.`,
    );
  }
}

export function validateProfileField(name: string, value: string, max: number): void {
  if (value.length > max) throw invalidArgument(`model.user.is_valid.${name}.app_error`, `${name} must be at most ${max} characters.`);
}
