import { AppError } from "@switchboard/model";
import { invalidBody, invalidUrlParam } from "./body.js";
import { defaultRole, type RoleJson } from "./default-roles.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, type RouteSpec } from "./rest-types.js";

const MAX_NAMES = 1000;

/** Mattermost's IsValidRoleName (model/role.go): 1-64 characters of [a-z0-9_]. */
function isValidRoleName(name: string): boolean {
  return name.length > 0 && name.length <= 64 && /^[a-z0-9_]+$/.test(name);
}

/** Mattermost's ArrayFromJSON: the body as a JSON array of strings, or nothing. */
function stringArray(body: Buffer): string[] {
  try {
    const v: unknown = JSON.parse(body.toString("utf8"));
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : [];
  } catch {
    return [];
  }
}

function roleNotFound(): AppError {
  return new AppError("not_found", "Unable to find the role.", "app.role.get_by_name.app_error");
}

/** Built-in roles and their permissions (api4/role.go). */
export function rolesRoutes(d: RestDeps): RouteSpec[] {
  return [
    {
      method: "post",
      pattern: "/api/v4/roles/names",
      async handler(req) {
        await d.auth.caller(req);
        const names = stringArray(req.body);
        if (names.length === 0 || names.length > MAX_NAMES) throw invalidBody("rolenames");
        const cleaned = names.filter((n) => n.trim() !== "");
        if (!cleaned.every(isValidRoleName)) throw invalidBody("rolename");
        const roles: RoleJson[] = [];
        for (const name of new Set(cleaned)) {
          const r = defaultRole(name);
          if (r) roles.push(r);
        }
        return ok(roles);
      },
    },
    {
      method: "get",
      pattern: "/api/v4/roles/name/:role_name",
      async handler(req) {
        await d.auth.caller(req);
        const name = req.params.role_name ?? "";
        if (!isValidRoleName(name)) throw invalidUrlParam("role_name");
        const r = defaultRole(name);
        if (!r) throw roleNotFound();
        return ok(r);
      },
    },
  ];
}
