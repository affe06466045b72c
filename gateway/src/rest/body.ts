import { AppError, isValidId } from "@switchboard/model";
import type { RestRequest } from "./rest-types.js";

export function invalidBody(name: string): AppError {
  return new AppError("invalid_argument", `Invalid or missing ${name} in request body.`, "api.context.invalid_body_param.app_error");
}

export function invalidUrlParam(name: string): AppError {
  return new AppError("invalid_argument", `Invalid or missing ${name} parameter in request URL.`, "api.context.invalid_url_param.app_error");
}

/** The request body as a JSON object (400 otherwise). */
export function jsonObject(req: RestRequest, what = "body"): Record<string, unknown> {
  const v = parse(req, what);
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw invalidBody(what);
  return v as Record<string, unknown>;
}

/** The request body as a JSON array of strings (400 otherwise). */
export function jsonStringArray(req: RestRequest, what: string, max: number): string[] {
  const v = parse(req, what);
  if (!Array.isArray(v) || v.length > max || !v.every((x) => typeof x === "string")) throw invalidBody(what);
  return v;
}

function parse(req: RestRequest, what: string): unknown {
  if (req.body.length === 0) throw invalidBody(what);
  try {
    return JSON.parse(req.body.toString("utf8"));
  } catch {
    throw invalidBody(what);
  }
}

/** A path parameter that must be a Mattermost id. */
export function idParam(req: RestRequest, name: string): string {
  const v = req.params[name];
  if (!isValidId(v)) throw invalidUrlParam(name);
  return v;
}

/** A `:user_id` path parameter, where Mattermost also accepts "me" for the caller. */
export function userParam(req: RestRequest, callerId: string): string {
  return req.params.user_id === "me" ? callerId : idParam(req, "user_id");
}

export function str(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw invalidBody(key);
  return v;
}

export function optionalId(o: Record<string, unknown>, key: string): string {
  const v = str(o, key);
  if (v !== "" && !isValidId(v)) throw invalidBody(key);
  return v;
}

export function requiredId(o: Record<string, unknown>, key: string): string {
  const v = str(o, key);
  if (!isValidId(v)) throw invalidBody(key);
  return v;
}

export function intQuery(req: RestRequest, name: string, dflt: number, min: number, max: number): number {
  const raw = req.query.get(name);
  if (raw === null || raw === "") return dflt;
  if (!/^-?\d+$/.test(raw)) throw invalidUrlParam(name);
  return Math.min(max, Math.max(min, Number(raw)));
}

/** Mattermost's paging parameters: `page` from 0, `per_page` 60 by default and at most 200. */
export function pageQuery(req: RestRequest): { page: number; perPage: number } {
  return { page: intQuery(req, "page", 0, 0, 1_000_000), perPage: intQuery(req, "per_page", 60, 1, 200) };
}

/** strconv.ParseBool: 1, t, T, TRUE, true, True (and the false forms); anything else is false, as Mattermost ignores the error. */
export function boolQuery(req: RestRequest, name: string): boolean {
  return ["1", "t", "T", "TRUE", "true", "True"].includes(req.query.get(name) ?? "");
}
