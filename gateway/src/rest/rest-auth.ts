/**
 * Who is calling a REST endpoint, as Mattermost decides it: token from cookie or header
 * (a query token is refused: no OAuth sessions here), verified offline; cookie-authenticated
 * writes must carry the CSRF token (or, unless strict, X-Requested-With: XMLHttpRequest as
 * Mattermost's default accepts).
 */
import { createHash } from "node:crypto";
import type { SessionAuth } from "@switchboard/auth";
import { AppError } from "@switchboard/model";
import type { Actor } from "@switchboard/tokens";
import { findCredentials } from "../http/credentials.js";
import type { RestRequest } from "./rest-types.js";

export interface Caller {
  readonly actor: Actor;
  readonly token: string;
}

/** The CSRF token of a session token: derived, so any gateway can check it without state. */
export function csrfTokenFor(token: string): string {
  return createHash("sha256").update(`sb-csrf:${token}`).digest("base64url").slice(0, 26);
}

export function createRestAuth(o: { auth: SessionAuth; strictCsrf: boolean }) {
  const unauthenticated = () => new AppError("unauthenticated", "Invalid or expired session, please login again.", "api.context.session_expired.app_error");

  return {
    async caller(req: RestRequest): Promise<Caller> {
      const creds = findCredentials({
        cookie: req.header("cookie"),
        authorization: req.header("authorization"),
        accessTokenQuery: req.query.get("access_token") ?? "",
      });
      if (creds.source === "none") throw unauthenticated();
      if (creds.source === "query") {
        throw new AppError("unauthenticated", "Token is only allowed in the query string for OAuth sessions.", "api.context.token_provided.app_error");
      }
      const actor = await o.auth.verify(creds.token);
      if (creds.source === "cookie" && req.method !== "get") {
        const header = req.header("x-csrf-token");
        const xhr = req.header("x-requested-with") === "XMLHttpRequest";
        const good = header !== "" ? header === csrfTokenFor(creds.token) : !o.strictCsrf && xhr;
        if (!good) {
          throw new AppError("unauthenticated", "Invalid or missing CSRF token.", "api.context.session_expired.app_error");
        }
      }
      return { actor, token: creds.token };
    },
  };
}

export type RestAuth = ReturnType<typeof createRestAuth>;
