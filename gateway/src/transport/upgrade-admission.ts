/**
 * How many WebSocket upgrades this gateway works on at once, and how fast it takes new ones:
 * an upgrade is "in progress" from its request until its connection is bound (hello sent, or
 * resumed) or given up. Over either limit the upgrade is answered 503 with Retry-After before
 * any work (token check, routes, presence), so a reconnect storm queues at the clients'
 * backoff instead of in this process.
 */
export type UpgradeVerdict = "ok" | "ws_upgrades_in_progress" | "ws_upgrade_rate";

export interface UpgradeLimits {
  /** Upgrades in progress at once (0 = no limit). */
  readonly maxInProgress: number;
  /** New upgrades per second, sustained (0 = no limit). */
  readonly ratePerSec: number;
  /** Upgrades that may start at once above the rate. */
  readonly burst: number;
}

export class UpgradeAdmission {
  private inProgress = 0;
  private tokens: number;
  private refilledAt = performance.now();

  constructor(private readonly limits: UpgradeLimits) {
    this.tokens = limits.burst;
  }

  /** Takes a place for one upgrade; `leave` must follow an "ok" exactly once. */
  enter(): UpgradeVerdict {
    const l = this.limits;
    if (l.maxInProgress > 0 && this.inProgress >= l.maxInProgress) return "ws_upgrades_in_progress";
    if (l.ratePerSec > 0) {
      const now = performance.now();
      this.tokens = Math.min(l.burst, this.tokens + ((now - this.refilledAt) / 1000) * l.ratePerSec);
      this.refilledAt = now;
      if (this.tokens < 1) return "ws_upgrade_rate";
      this.tokens -= 1;
    }
    this.inProgress++;
    return "ok";
  }

  leave(): void {
    this.inProgress--;
  }

  get current(): number {
    return this.inProgress;
  }
}
