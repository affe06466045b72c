/**
 * Who shares a direct or group channel with a user (posts' ListDirectPartners), cached
 * briefly. Optional and never in the way: when posts does not answer quickly, the lookup
 * yields nothing (counted and logged) and the status change goes on without the extra pushes.
 */
import type { Logger } from "@switchboard/log";
import { isValidId } from "@switchboard/model";
import type { PostsClient } from "@switchboard/rpc";
import type { PresenceMetrics } from "../metrics.js";

export interface PartnerDirectory {
  /** The partners, or undefined when posts could not be asked. */
  partners(userId: string): Promise<readonly string[] | undefined>;
}

const MAX_ENTRIES = 50_000;
const LOOKUP_DEADLINE_MS = 1_000;
const WARN_EVERY_MS = 10_000;

export function createPartnerDirectory(o: { posts: PostsClient; cacheMs: number; metrics: PresenceMetrics; log: Logger }): PartnerDirectory {
  const cache = new Map<string, { ids: readonly string[]; until: number }>();
  const inflight = new Map<string, Promise<readonly string[] | undefined>>();
  let lastWarn = 0;

  async function lookup(userId: string): Promise<readonly string[] | undefined> {
    try {
      const r = await o.posts.listDirectPartners({ userId }, { deadlineMs: LOOKUP_DEADLINE_MS });
      const ids = r.userIds.filter((id) => id !== userId && isValidId(id));
      if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(userId, { ids, until: Date.now() + o.cacheMs });
      return ids;
    } catch (e: unknown) {
      o.metrics.partnerLookupFailed();
      const now = Date.now();
      if (now - lastWarn >= WARN_EVERY_MS) {
        lastWarn = now;
        o.log.warn({ err: e }, "posts unreachable: status_change not pushed to direct partners");
      }
      return undefined;
    }
  }

  return {
    partners(userId) {
      const hit = cache.get(userId);
      if (hit && hit.until > Date.now()) return Promise.resolve(hit.ids);
      let p = inflight.get(userId);
      if (!p) {
        p = lookup(userId).finally(() => inflight.delete(userId));
        inflight.set(userId, p);
      }
      return p;
    },
  };
}
