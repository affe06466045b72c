import type { PostsService as PostsServiceDesc } from "@switchboard/proto/posts";
import type { ImplOf } from "@switchboard/rpc";
import type { SessionAuth } from "@switchboard/auth";
import { isDenial } from "../errors.js";
import type { PostsMetrics } from "../metrics.js";
import { postHandlers, type PostServices } from "./post-handlers.js";
import { readStateHandlers, type ReadStateServices } from "./read-state-handlers.js";
import { sidebarHandlers } from "./sidebar-handlers.js";
import type { SidebarService } from "../sidebar/sidebar-categories.js";
import { threadHandlers } from "./thread-handlers.js";
import type { ThreadService } from "../threads/thread-service.js";
import { teamChannelHandlers, type TeamChannelServices } from "./team-channel-handlers.js";

type Impl = ImplOf<typeof PostsServiceDesc>;

/** Every PostsService method, with refusals counted per method. */
export function postsHandlers(
  s: TeamChannelServices & PostServices & ReadStateServices & { readonly sidebar: SidebarService; readonly threads: ThreadService },
  auth: SessionAuth,
  metrics: PostsMetrics,
): Impl {
  const impl: Impl = {
    ...teamChannelHandlers(s, auth),
    ...postHandlers(s, auth),
    ...readStateHandlers(s, auth),
    ...sidebarHandlers(s, auth),
    ...threadHandlers(s, auth),
  };
  const counted: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(impl) as [string, (req: never, ctx: never) => Promise<unknown>][]) {
    counted[name] = async (req: never, ctx: never) => {
      try {
        return await fn(req, ctx);
      } catch (e: unknown) {
        if (isDenial(e)) metrics.permissionDenied(name);
        throw e;
      }
    };
  }
  return counted as Impl;
}
