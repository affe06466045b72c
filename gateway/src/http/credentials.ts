/**
 * Where a Mattermost client puts its session token (app.ParseAuthTokenFromRequest, in this
 * order): the MMAUTHTOKEN cookie, `Authorization: Bearer <t>` (any case), `Authorization:
 * Token <t>`, then `?access_token=` (accepted by Mattermost only for OAuth sessions, which
 * Switchboard does not issue: a query token is refused).
 */
export const SESSION_COOKIE = "MMAUTHTOKEN";
export const USER_COOKIE = "MMUSERID";
export const CSRF_COOKIE = "MMCSRF";

type TokenSource = "cookie" | "header" | "query" | "none";

export interface Credentials {
  readonly token: string;
  readonly source: TokenSource;
}

function parseCookies(header: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    if (!out.has(k)) out.set(k, part.slice(i + 1).trim());
  }
  return out;
}

export function findCredentials(h: { cookie: string; authorization: string; accessTokenQuery: string }): Credentials {
  const cookie = parseCookies(h.cookie).get(SESSION_COOKIE);
  if (cookie) return { token: cookie, source: "cookie" };
  const auth = h.authorization.trim();
  const m = /^(bearer|token)\s+(\S+)$/i.exec(auth);
  if (m) return { token: m[2]!, source: "header" };
  if (h.accessTokenQuery) return { token: h.accessTokenQuery, source: "query" };
  return { token: "", source: "none" };
}
