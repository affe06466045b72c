/**
 * Which users are online, from the presence service: "@here" mentions only the channel's
 * members whose status is "online" (Mattermost's MentionKeywords: away, dnd and offline
 * members are left out). Asked with the caller's own token, only for posts that say @here.
 * Never in the way: when presence does not answer, nobody is online (as Mattermost treats a
 * user whose status it cannot read), the post goes on, and the failure is counted and logged.
 */
import type { Logger } from "@switchboard/log";
import type { PresenceClient } from "@switchboard/rpc";

export interface OnlineDirectory {
  /** The users among `userIds` whose status is "online". */
  online(userIds: readonly string[], token: string): Promise<Set<string>>;
}

/** presence's GetStatuses limit per call. */
const IDS_PER_CALL = 1_000;
const WARN_EVERY_MS = 10_000;

export function createOnlineDirectory(o: { presence: PresenceClient; deadlineMs: number; log: Logger; onFailure: () => void }): OnlineDirectory {
  let lastWarn = 0;
  return {
    async online(userIds, token) {
      const out = new Set<string>();
      const chunks: string[][] = [];
      for (let i = 0; i < userIds.length; i += IDS_PER_CALL) chunks.push(userIds.slice(i, i + IDS_PER_CALL));
      try {
        const answers = await Promise.all(chunks.map((userIds) => o.presence.getStatuses({ userIds }, { token, deadlineMs: o.deadlineMs })));
        for (const a of answers) for (const s of a.statuses) if (s.status === "online") out.add(s.userId);
        return out;
      } catch (e: unknown) {
        o.onFailure();
        const now = Date.now();
        if (now - lastWarn >= WARN_EVERY_MS) {
          lastWarn = now;
          o.log.warn({ err: e }, "presence unreachable: @here mentions nobody");
        }
        return new Set();
      }
    },
  };
}
