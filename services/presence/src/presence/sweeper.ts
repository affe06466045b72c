/**
 * Deadlines, on every replica: each tick closes expired leases and looks at the users whose
 * next deadline has passed (grace end, auto-away, dnd end, connections of a closed lease,
 * an unconfirmed event). Every replica may act on the same user at once; compare-and-set lets
 * exactly one change win and the others find nothing left to do. Deadlines live in the
 * records, so a restarted replica (or another one) picks them up where they were.
 */
import type { Component } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import type { PresenceMetrics } from "../metrics.js";
import type { PresenceCache } from "../store/presence-cache.js";
import { mapLimit } from "../util/map-limit.js";
import type { LeaseManager } from "./lease-manager.js";
import type { PresenceEngine } from "./presence-engine.js";

const SWEEP_CONCURRENCY = 32;
const MAX_USERS_PER_TICK = 10_000;

export function sweeperComponent(o: {
  engine: PresenceEngine;
  leases: LeaseManager;
  cache: PresenceCache;
  intervalMs: number;
  metrics: PresenceMetrics;
  log: Logger;
  now?: () => number;
}): Component & { tick(): Promise<void> } {
  const now = o.now ?? Date.now;
  const log = o.log.child({ part: "sweeper" });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let lastErrorLog = 0;

  async function sweep(): Promise<void> {
    const end = o.metrics.sweepTimer();
    const t = now();
    await o.leases.sweep(t);
    const due = o.cache.deadlines.popDue(t, MAX_USERS_PER_TICK);
    await mapLimit(due, SWEEP_CONCURRENCY, async (userId) => {
      try {
        await o.engine.sweepUser(userId);
        o.cache.reschedule(userId);
      } catch (e: unknown) {
        o.metrics.sweepError();
        o.cache.deadlines.schedule(userId, now() + o.intervalMs);
        if (Date.now() - lastErrorLog > 5_000) {
          lastErrorLog = Date.now();
          log.warn({ err: e }, "deadline update failed; retrying next sweep");
        }
      }
    });
    end();
  }

  function tick(): Promise<void> {
    running ??= sweep()
      .catch((e: unknown) => log.warn({ err: e }, "sweep failed"))
      .finally(() => (running = undefined));
    return running;
  }

  return {
    name: "sweeper",
    tick,
    async start() {
      timer = setInterval(() => void tick(), o.intervalMs);
      timer.unref();
      void tick();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
