/** Who may call presence (sb.presence.v1.PresenceService), method by method. */
import type { PresenceService } from "@switchboard/proto/presence";
import type { Allowlist } from "./allowlist.js";

export const presenceAllowlist: Allowlist<(typeof PresenceService)["method"]> = {
  // Connection leases: the gateways that hold the connections, and nobody else.
  acquireLease: ["gateway"],
  report: ["gateway"],
  releaseLease: ["gateway"],
  // Statuses on a user's token, from the edge.
  setStatus: ["gateway"],
  getStatus: ["gateway"],
  // Statuses of many users: the edge, and posts (online state for mentions and notifications).
  getStatuses: ["gateway", "posts"],
  listActiveStatuses: ["gateway"],
};
