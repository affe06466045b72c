/**
 * The per-connection limit on client requests: a token bucket on the socket's state (no
 * allocation per request). A request over the limit gets a FAIL reply; a client that keeps
 * sending while limited (more refused requests in a row than the burst) is closed with 4004.
 */
export interface CommandRate {
  /** Requests per second, sustained (0 = no limit). */
  readonly perSec: number;
  /** Requests that may come at once above the rate. */
  readonly burst: number;
}

/** The bucket's fields, kept on the socket's state. */
export interface CommandBucket {
  cmdTokens: number;
  cmdRefilledAt: number;
  /** Requests refused in a row. */
  cmdRefused: number;
}

export type CommandVerdict = "ok" | "refused" | "close";

export function takeCommand(b: CommandBucket, r: CommandRate, now: number): CommandVerdict {
  if (r.perSec <= 0) return "ok";
  b.cmdTokens = Math.min(r.burst, b.cmdTokens + ((now - b.cmdRefilledAt) / 1000) * r.perSec);
  b.cmdRefilledAt = now;
  if (b.cmdTokens >= 1) {
    b.cmdTokens -= 1;
    b.cmdRefused = 0;
    return "ok";
  }
  return ++b.cmdRefused > r.burst ? "close" : "refused";
}
