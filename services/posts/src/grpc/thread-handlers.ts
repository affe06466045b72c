import type { PostsService as PostsServiceDesc } from "@switchboard/proto/posts";
import type { ImplOf } from "@switchboard/rpc";
import type { SessionAuth } from "@switchboard/auth";
import type { ThreadService } from "../threads/thread-service.js";
import { callOf } from "./call-of.js";

type Impl = ImplOf<typeof PostsServiceDesc>;

/** The methods of this file (the other handler files leave them out). */
export type ThreadMethods = "getUserThreads" | "getUserThread" | "setThreadFollowing" | "updateThreadRead" | "markAllThreadsRead";

/** gRPC <-> domain for collapsed reply threads. */
export function threadHandlers(s: { readonly threads: ThreadService }, auth: SessionAuth): Pick<Impl, ThreadMethods> {
  return {
    async getUserThreads(req, ctx) {
      const r = await s.threads.getThreads(await callOf(auth, ctx), req.userId, req.teamId, {
        since: Number(req.since),
        before: req.before,
        after: req.after,
        pageSize: req.pageSize,
        unread: req.unread,
        deleted: req.deleted,
        totalsOnly: req.totalsOnly,
        threadsOnly: req.threadsOnly,
      });
      return {
        total: BigInt(r.total),
        totalUnreadThreads: BigInt(r.totalUnreadThreads),
        totalUnreadMentions: BigInt(r.totalUnreadMentions),
        threads: r.threads,
      };
    },
    async getUserThread(req, ctx) {
      return { thread: await s.threads.getThread(await callOf(auth, ctx), req.userId, req.teamId, req.threadId) };
    },
    async setThreadFollowing(req, ctx) {
      await s.threads.setFollow(await callOf(auth, ctx), req.userId, req.teamId, req.threadId, req.following);
      return {};
    },
    async updateThreadRead(req, ctx) {
      return { thread: await s.threads.updateRead(await callOf(auth, ctx), req.userId, req.teamId, req.threadId, Number(req.timestamp), req.postId) };
    },
    async markAllThreadsRead(req, ctx) {
      await s.threads.markAllRead(await callOf(auth, ctx), req.userId, req.teamId);
      return {};
    },
  };
}
