import { AppError } from "@switchboard/model";
import type { Preference } from "@switchboard/proto/accounts";
import { invalidBody, userParam } from "./body.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, statusOk, type RouteSpec, type RestRequest } from "./rest-types.js";

interface PreferenceJson {
  user_id: string;
  category: string;
  name: string;
  value: string;
}

const FIELDS = ["user_id", "category", "name", "value"] as const;
// The route's own patterns (api4/preference.go): anything else matches no route.
const SEGMENT = /^[A-Za-z0-9_]+$/;

const toJson = (p: Preference): PreferenceJson => ({ user_id: p.userId, category: p.category, name: p.name, value: p.value });

/** json.Decode into model.Preferences: an array (or null) of objects whose known fields are strings. */
function preferencesBody(req: RestRequest): PreferenceJson[] {
  let v: unknown;
  try {
    v = JSON.parse(req.body.toString("utf8"));
  } catch {
    throw invalidBody("preferences");
  }
  if (v === null) return [];
  if (!Array.isArray(v)) throw invalidBody("preferences");
  return v.map((item: unknown) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) throw invalidBody("preferences");
    const o = item as Record<string, unknown>;
    const p: PreferenceJson = { user_id: "", category: "", name: "", value: "" };
    for (const f of FIELDS) {
      const x = o[f];
      if (x === undefined || x === null) continue;
      if (typeof x !== "string") throw invalidBody("preferences");
      p[f] = x;
    }
    return p;
  });
}

function noRoute(): AppError {
  return new AppError("not_found", "Sorry, we could not find the page.", "api.context.404.app_error");
}

function segment(req: RestRequest, name: string): string {
  const v = req.params[name] ?? "";
  if (!SEGMENT.test(v)) throw noRoute();
  return v;
}

/** A user's preferences (api4/preference.go), stored by accounts. */
export function preferencesRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });

  /** Saving a flagged post: the post must exist and be readable by the caller (updatePreferences). */
  async function checkFlagged(prefs: readonly PreferenceJson[], token: string): Promise<void> {
    for (const p of prefs) {
      if (p.category !== "flagged_post") continue;
      try {
        await d.posts.getPost({ postId: p.name }, opts(token));
      } catch (e: unknown) {
        const err = AppError.from(e);
        if (err.code === "permission_denied") throw err;
        if (err.code === "not_found" || err.code === "invalid_argument") throw invalidBody("preference.name");
        throw e;
      }
    }
  }

  const toProto = (p: PreferenceJson) => ({ userId: p.user_id, category: p.category, name: p.name, value: p.value });

  return [
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/preferences",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const r = await d.accounts.getPreferences({ userId, category: "", name: "" }, opts(c.token));
        return ok(r.preferences.map(toJson));
      },
    },
    {
      method: "put",
      pattern: "/api/v4/users/:user_id/preferences",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const prefs = preferencesBody(req);
        await checkFlagged(prefs, c.token);
        await d.accounts.savePreferences({ userId, preferences: prefs.map(toProto) }, opts(c.token));
        return statusOk();
      },
    },
    {
      method: "post",
      pattern: "/api/v4/users/:user_id/preferences/delete",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const prefs = preferencesBody(req);
        await d.accounts.deletePreferences({ userId, preferences: prefs.map(toProto) }, opts(c.token));
        return statusOk();
      },
    },
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/preferences/:category",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const category = segment(req, "category");
        const r = await d.accounts.getPreferences({ userId, category, name: "" }, opts(c.token));
        return ok(r.preferences.map(toJson));
      },
    },
    {
      method: "get",
      pattern: "/api/v4/users/:user_id/preferences/:category/name/:preference_name",
      async handler(req) {
        const c = await d.auth.caller(req);
        const userId = userParam(req, c.actor.userId);
        const category = segment(req, "category");
        const name = segment(req, "preference_name");
        const r = await d.accounts.getPreferences({ userId, category, name }, opts(c.token));
        return ok(toJson(r.preferences[0]!));
      },
    },
  ];
}
