/**
 * A request body that is a JSON list of ids, read as Mattermost's model.SortedArrayFromJSON
 * reads it: anything but a JSON array of strings is 400 api.payload.parse.error; `null` and
 * `[]` are an empty list, which the routes refuse as a missing body parameter; duplicates go.
 */
import { AppError } from "@switchboard/model";
import { invalidBody } from "./body.js";
import type { RestRequest } from "./rest-types.js";

const parseError = (): AppError => new AppError("invalid_argument", "Unable to parse the request payload.", "api.payload.parse.error");

/** The ids of the body; `what` names the list in the refusal of an empty one. */
export function idListBody(req: RestRequest, what: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(req.body.toString("utf8"));
  } catch {
    throw parseError();
  }
  if (v === null) v = [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw parseError();
  const ids = [...new Set(v)].sort();
  if (ids.length === 0) throw invalidBody(what);
  return ids;
}
