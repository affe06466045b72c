import type { SessionClaims } from "./token.js";

/** Who is calling: the user and session a verified token names. */
export interface Actor {
  readonly userId: string;
  readonly sessionId: string;
  readonly roles: string;
  /** Holds manage_system (Mattermost's system_admin role). */
  readonly isSystemAdmin: boolean;
  /** Token expiry, Unix ms. */
  readonly expiresAt: number;
}

export function hasSystemAdminRole(roles: string): boolean {
  return roles.split(/\s+/).includes("system_admin");
}

export function actorFromClaims(c: SessionClaims): Actor {
  return { userId: c.uid, sessionId: c.sid, roles: c.roles, isSystemAdmin: hasSystemAdminRole(c.roles), expiresAt: c.exp };
}
