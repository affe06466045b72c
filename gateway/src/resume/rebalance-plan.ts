/**
 * Whether a gateway should shed some of its clients to the rest of the fleet, and how many:
 * the decision of the rebalancer (rebalancer.ts), kept pure so every guard is tested alone.
 *
 * A gateway acts only on itself: when it has held more than `thresholdPercent` % of the fleet
 * mean for `sustainMs`, it sheds a jittered fraction of its excess over the mean (never more,
 * so it never goes below the mean), then waits `cooldownMs` before it may act again, so the
 * moved clients have landed and been counted. Gateways act independently; the jitter keeps
 * several overloaded ones from moving in lockstep.
 */
export interface RebalanceSettings {
  /** A gateway above this percentage of the fleet mean is overloaded (e.g. 120). */
  readonly thresholdPercent: number;
  /** Percentage of the excess over the mean shed in one round, before jitter (e.g. 50). */
  readonly fractionPercent: number;
  /** How long it must stay overloaded before a round. */
  readonly sustainMs: number;
  /** Time between two rounds. */
  readonly cooldownMs: number;
}

/** What the gateway remembers between decisions; 0 = never. */
export interface RebalanceState {
  /** When the current overload began. */
  readonly overSince: number;
  /** When it last shed clients. */
  readonly lastRoundAt: number;
}

export const initialRebalanceState: RebalanceState = { overSince: 0, lastRoundAt: 0 };

/** The fraction of the excess shed varies by up to ± this share of itself. */
export const REBALANCE_JITTER = 0.25;

export interface RebalanceDecision {
  /** Sockets to close now (0: none). */
  readonly close: number;
  readonly state: RebalanceState;
  /** The fleet mean the decision used (0 without a fleet). */
  readonly mean: number;
}

/**
 * `own`: this gateway's open sockets; `others`: those of every other gateway known, fresh and
 * accepting; `random`: uniform in [0, 1).
 */
export function planRebalance(
  own: number,
  others: readonly number[],
  s: RebalanceSettings,
  state: RebalanceState,
  now: number,
  random: number,
): RebalanceDecision {
  const none = (next: RebalanceState, mean = 0): RebalanceDecision => ({ close: 0, state: next, mean });
  // Alone (or nobody else heard lately): there is nowhere to send anyone.
  if (others.length === 0) return none({ ...state, overSince: 0 });
  let total = own;
  for (const n of others) total += n;
  const mean = total / (others.length + 1);
  const excess = Math.floor(own - mean);
  if (own * 100 <= s.thresholdPercent * mean || excess < 1) return none({ ...state, overSince: 0 }, mean);
  const overSince = state.overSince || now;
  if (now - overSince < s.sustainMs) return none({ ...state, overSince }, mean);
  if (state.lastRoundAt > 0 && now - state.lastRoundAt < s.cooldownMs) return none({ ...state, overSince }, mean);
  const fraction = (s.fractionPercent / 100) * (1 + REBALANCE_JITTER * (2 * random - 1));
  const close = Math.min(excess, Math.max(1, Math.round(excess * fraction)));
  // A new overload must be sustained again after this round.
  return { close, state: { overSince: 0, lastRoundAt: now }, mean };
}
