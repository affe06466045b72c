/**
 * The few channel facts a `posted` event carries (team, type, name, display name), cached
 * briefly per process for CreatePost's one-statement path. The statement re-checks them
 * against the row it locks, so a stale entry only sends that post down the transaction path.
 */
import type { Queryable } from "@switchboard/db";
import type { ChannelFacts } from "../posts/post-write.js";
import { createTtlCache } from "../ttl-cache.js";

export interface ChannelFactsCache {
  get(q: Queryable, channelId: string): Promise<ChannelFacts | undefined>;
  forget(channelId: string): void;
}

export function createChannelFactsCache(o: { ttlMs: number; maxEntries: number }): ChannelFactsCache {
  const entries = createTtlCache<ChannelFacts>(o.maxEntries, Date.now);
  return {
    async get(q, channelId) {
      const hit = entries.get(channelId);
      if (hit) return hit.value;
      const { rows } = await q.query<ChannelFacts>("SELECT id, team_id, type, display_name, name FROM channels WHERE id = $1 AND delete_at = 0", [channelId], {
        prepare: true,
      });
      const facts = rows[0];
      if (facts) entries.set(channelId, facts, o.ttlMs);
      return facts;
    },
    forget(channelId) {
      entries.delete(channelId);
    },
  };
}
