/**
 * The few channel facts a `posted` event carries (team, type, name, display name), cached
 * briefly per process for CreatePost's one-statement path. The statement re-checks them
 * against the row it locks, so a stale entry only sends that post down the transaction path.
 */
import type { Queryable } from "@switchboard/db";
import type { ChannelFacts } from "../posts/create-post-fast.js";

export interface ChannelFactsCache {
  get(q: Queryable, channelId: string): Promise<ChannelFacts | undefined>;
  forget(channelId: string): void;
}

export function createChannelFactsCache(o: { ttlMs: number; maxEntries: number; now?: () => number }): ChannelFactsCache {
  const now = o.now ?? Date.now;
  const entries = new Map<string, { facts: ChannelFacts; at: number }>();
  return {
    async get(q, channelId) {
      const hit = entries.get(channelId);
      if (hit && now() - hit.at < o.ttlMs) return hit.facts;
      const { rows } = await q.query<ChannelFacts>("SELECT id, team_id, type, display_name, name FROM channels WHERE id = $1 AND delete_at = 0", [channelId], {
        prepare: true,
      });
      const facts = rows[0];
      if (!facts) return undefined;
      if (entries.size >= o.maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(channelId, { facts, at: now() });
      return facts;
    },
    forget(channelId) {
      entries.delete(channelId);
    },
  };
}
