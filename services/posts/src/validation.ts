import { invalidArgument, isValidId } from "@switchboard/model";
import { denied, invalidId } from "./errors.js";

/** Length in Unicode code points (Go's utf8.RuneCountInString, which Mattermost's limits use). */
export function runeLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

export function requireId(value: string, name: string): string {
  if (!isValidId(value)) throw invalidId(name);
  return value;
}

/** An optional id: "" or a valid id. */
export function optionalId(value: string, name: string): string {
  if (value !== "" && !isValidId(value)) throw invalidId(name);
  return value;
}

const DEFAULT_PER_PAGE = 60;
const MAX_PER_PAGE = 200;

/** Mattermost's paging: per_page defaults to 60 and is capped at 200; negatives are refused. */
export function pageParams(page: number, perPage: number): { page: number; perPage: number } {
  if (page < 0) throw invalidArgument("api.context.invalid_url_param.app_error", "Invalid page parameter: must be 0 or more.");
  if (perPage < 0) throw invalidArgument("api.context.invalid_url_param.app_error", "Invalid per_page parameter: must be 0 or more.");
  return { page, perPage: perPage === 0 ? DEFAULT_PER_PAGE : Math.min(perPage, MAX_PER_PAGE) };
}

/** A user id argument that defaults to the caller; others' data needs a system admin. */
export function selfOrAdmin(userId: string, actor: { userId: string; isSystemAdmin: boolean }): string {
  const id = userId === "" ? actor.userId : requireId(userId, "user_id");
  if (id !== actor.userId && !actor.isSystemAdmin) throw denied();
  return id;
}
