/**
 * Mattermost's WebSocket Origin rule (app/server.go OriginChecker): with AllowCorsFrom set,
 * the Origin must be listed (or be the SiteURL); otherwise a missing Origin is allowed
 * (non-browser clients), "null" is refused, and the Origin's scheme and host must equal the
 * SiteURL's (or, with no SiteURL, its host must equal the request's Host).
 */
export interface OriginPolicy {
  readonly siteUrl: string;
  readonly allowCorsFrom: readonly string[];
}

function schemeHost(u: string): string | undefined {
  try {
    const p = new URL(u);
    if (p.protocol !== "http:" && p.protocol !== "https:") return undefined;
    return `${p.protocol}//${p.host}`.toLowerCase();
  } catch {
    return undefined;
  }
}

export function originAllowed(origin: string, host: string, policy: OriginPolicy): boolean {
  if (origin === "") return true;
  if (origin === "null") return false;
  const o = schemeHost(origin);
  if (!o) return false;
  const site = policy.siteUrl ? schemeHost(policy.siteUrl) : undefined;
  if (policy.allowCorsFrom.length > 0) {
    if (policy.allowCorsFrom.includes("*")) return true;
    return o === site || policy.allowCorsFrom.some((a) => schemeHost(a) === o);
  }
  if (site) return o === site;
  return new URL(origin).host.toLowerCase() === host.toLowerCase();
}
