/** Every metric the accounts service emits; call sites use these helpers, never raw metrics. */
import type { MetricsRegistry } from "@switchboard/metrics";

export function createAccountsMetrics(registry: MetricsRegistry) {
  const refused = registry.counter({
    name: "sb_accounts_login_refused_total",
    help: "logins refused, by reason (invalid_credentials, inactive, rate_limited)",
    labelNames: ["reason"],
  });
  const limited = registry.counter({
    name: "sb_accounts_login_rate_limited_total",
    help: "logins refused by a failed-login limit, by the key over its limit (login, ip)",
    labelNames: ["key"],
  });
  return {
    loginRefused: (reason: string) => refused.inc({ reason }),
    loginLimited: (key: string) => limited.inc({ key }),
  };
}
