import { postToJson } from "@switchboard/model";
import type { Post } from "@switchboard/proto/posts";

/** Mattermost's PostList: `order` newest first, `posts` keyed by id. */
export function postListJson(
  order: readonly string[],
  list: readonly Post[],
  page: { nextPostId?: string; prevPostId?: string; hasNext?: boolean } = {},
): Record<string, unknown> {
  const posts: Record<string, unknown> = {};
  for (const p of list) posts[p.id] = postToJson(p);
  return {
    order,
    posts,
    next_post_id: page.nextPostId ?? "",
    prev_post_id: page.prevPostId ?? "",
    has_next: page.hasNext ?? false,
    first_inaccessible_post_time: 0,
  };
}
