// The configuration schemas of the deployables (each one's own, from its package): what the
// manifests' env must agree with. Loading a manifest's env through the deployable's own loader
// refuses what the process would refuse at start (bad values, a drain longer than the
// shutdown deadline), and its warnings name the variables under its prefix that it does not know.
import { accountsSchema, loadAccountsConfig } from "@switchboard/accounts";
import { gatewaySchema, loadGatewayConfig } from "@switchboard/gateway";
import { loadPostsConfig, postsSchema } from "@switchboard/posts";
import { loadPresenceConfig, presenceSchema } from "@switchboard/presence";

export const deployables = {
  gateway: { schema: gatewaySchema, load: loadGatewayConfig, prefix: "SB_GATEWAY_" },
  posts: { schema: postsSchema, load: loadPostsConfig, prefix: "SB_POSTS_" },
  accounts: { schema: accountsSchema, load: loadAccountsConfig, prefix: "SB_ACCOUNTS_" },
  presence: { schema: presenceSchema, load: loadPresenceConfig, prefix: "SB_PRESENCE_" },
};

/** The env names a deployable reads. */
export function envNames(name) {
  return new Set(Object.values(deployables[name].schema).map((f) => f.env));
}

/**
 * What the gateway's drain leaves for NATS, as its loader enforces it: the smallest shutdown
 * deadline it accepts, less the drain steps it sums (read from the code, not restated here).
 */
export function gatewayNatsDrainBudgetMs() {
  const base = { SB_GATEWAY_PRESTOP_DELAY_MS: "0", SB_GATEWAY_DRAIN_SPREAD_MS: "0", SB_GATEWAY_RESUME_HANDOVER_MS: "0" };
  const accepts = (ms) => {
    try {
      loadGatewayConfig({ ...base, SB_GATEWAY_SHUTDOWN_DEADLINE_MS: String(ms) });
      return true;
    } catch {
      return false;
    }
  };
  let lo = 0;
  let hi = 600_000;
  if (!accepts(hi)) throw new Error("the gateway accepts no shutdown deadline up to 10 min with a drain of 0");
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (accepts(mid)) hi = mid;
    else lo = mid + 1;
  }
  // The loader wants drain < deadline: the smallest accepted deadline is the budget + 1 ms.
  return lo - 1;
}
