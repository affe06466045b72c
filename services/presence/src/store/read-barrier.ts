/**
 * Read-your-writes for status reads on any replica: before answering from the cache, wait
 * until it holds every write the bucket had when the read began (the bucket's last revision,
 * asked of its stream's leader). Concurrent reads share one question: a read that arrives while
 * one is in flight waits for the next, which starts after it, so no write it could have seen
 * is missed. Bounded: past `timeoutMs` the cache answers as it is.
 */
import type { PresenceCache } from "./presence-cache.js";
import type { PresenceKv } from "./presence-kv.js";

export interface ReadBarrier {
  /** Resolves once the cache holds every write made before this call (or after the timeout). */
  sync(): Promise<void>;
}

export function createReadBarrier(o: { kv: Pick<PresenceKv, "lastRevision">; cache: Pick<PresenceCache, "waitForRevision">; timeoutMs: number }): ReadBarrier {
  let inFlight: Promise<void> | undefined;
  let next: Promise<void> | undefined;

  async function once(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const revision = await o.kv.lastRevision();
      await Promise.race([o.cache.waitForRevision(revision), new Promise<void>((r) => (timer = setTimeout(r, o.timeoutMs)))]);
    } catch {
      // The stream did not answer: the cache answers as it is (reads never fail for this).
    } finally {
      clearTimeout(timer);
    }
  }

  function start(): Promise<void> {
    const p = once().finally(() => {
      if (inFlight === p) inFlight = undefined;
    });
    inFlight = p;
    return p;
  }

  return {
    sync() {
      if (!inFlight) return start();
      next ??= inFlight.then(() => {
        next = undefined;
        return start();
      });
      return next;
    },
  };
}
