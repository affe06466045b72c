import { jsonBytes, userToJson } from "@switchboard/model";
import { CSRF_COOKIE, SESSION_COOKIE, USER_COOKIE } from "../http/credentials.js";
import { invalidBody, jsonObject, jsonStringArray, str, userParam } from "./body.js";
import { csrfTokenFor } from "./rest-auth.js";
import type { RestDeps } from "./rest-deps.js";
import { ok, statusOk, type RouteSpec } from "./rest-types.js";

const MAX_IDS = 1000;

/** Users, login and logout (api4/user.go). */
export function usersRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  const cookie = (name: string, value: string, maxAgeS: number, httpOnly: boolean): readonly [string, string] => [
    "Set-Cookie",
    `${name}=${value}; Path=/; Max-Age=${maxAgeS}; SameSite=Lax${httpOnly ? "; HttpOnly" : ""}${d.secureCookies ? "; Secure" : ""}`,
  ];

  return [
    {
      method: "post",
      pattern: "/api/v4/users",
      async handler(req) {
        const b = jsonObject(req, "user");
        const token = await d.auth.caller(req).then(
          (c) => c.token,
          () => undefined,
        );
        const props = b.props !== undefined && b.props !== null && typeof b.props === "object" ? b.props : {};
        const r = await d.accounts.createUser(
          {
            username: str(b, "username"),
            email: str(b, "email"),
            password: str(b, "password"),
            nickname: str(b, "nickname"),
            firstName: str(b, "first_name"),
            lastName: str(b, "last_name"),
            locale: str(b, "locale"),
            propsJson: jsonBytes(props),
          },
          { ...(token ? { token } : {}), deadlineMs: d.deadlineMs },
        );
        return ok(userToJson(r.user!, { self: true }), 201);
      },
    },
    {
      method: "post",
      pattern: "/api/v4/users/login",
      async handler(req) {
        const b = jsonObject(req, "login");
        const r = await d.accounts.login(
          // accounts limits failed logins per login_id and per this address (cluster-wide).
          { loginId: str(b, "login_id"), password: str(b, "password"), deviceId: str(b, "device_id"), clientIp: req.clientIp.slice(0, 64) },
          { deadlineMs: d.deadlineMs },
        );
        const headers: (readonly [string, string])[] = [["Token", r.token]];
        // Browsers (and Client4) send X-Requested-With: cookies then carry the session.
        if (req.header("x-requested-with") === "XMLHttpRequest") {
          const maxAge = Math.max(0, Math.floor((Number(r.session!.expiresAt) - Date.now()) / 1000));
          headers.push(
            cookie(SESSION_COOKIE, r.token, maxAge, true),
            cookie(USER_COOKIE, r.user!.id, maxAge, false),
            cookie(CSRF_COOKIE, csrfTokenFor(r.token), maxAge, false),
          );
        }
        return ok(userToJson(r.user!, { self: true }), 200, headers);
      },
    },
    {
      method: "post",
      pattern: "/api/v4/users/logout",
      async handler(req) {
        const c = await d.auth.caller(req);
        await d.accounts.revokeSession({ sessionId: c.actor.sessionId }, opts(c.token));
        return {
          ...statusOk(),
          headers: [cookie(SESSION_COOKIE, "", 0, true), cookie(USER_COOKIE, "", 0, false), cookie(CSRF_COOKIE, "", 0, false)],
        };
      },
    },
    {
      method: "get",
      pattern: "/api/v4/users/me",
      async handler(req) {
        const c = await d.auth.caller(req);
        const r = await d.accounts.getUser({ userId: c.actor.userId }, opts(c.token));
        return ok(userToJson(r.user!, { self: true }));
      },
    },
    {
      method: "post",
      pattern: "/api/v4/users/ids",
      async handler(req) {
        const c = await d.auth.caller(req);
        const ids = jsonStringArray(req, "user_ids", MAX_IDS);
        if (ids.length === 0) throw invalidBody("user_ids");
        const r = await d.accounts.getUsers({ userIds: ids }, opts(c.token));
        return ok(r.users.map((u) => userToJson(u, { self: u.id === c.actor.userId })));
      },
    },
    {
      method: "get",
      pattern: "/api/v4/users/:user_id",
      async handler(req) {
        const c = await d.auth.caller(req);
        const id = userParam(req, c.actor.userId);
        const r = await d.accounts.getUser({ userId: id }, opts(c.token));
        return ok(userToJson(r.user!, { self: id === c.actor.userId }));
      },
    },
  ];
}
