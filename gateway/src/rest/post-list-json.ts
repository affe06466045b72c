import { bareUserJson, postToJson } from "@switchboard/model";
import type { Post } from "@switchboard/proto/posts";

/**
 * Mattermost's PostList: `order` newest first, `posts` keyed by id. A collapsed-threads list
 * carries each root's participants (`users`: the full ones when extended; id-only users
 * otherwise, as prepareThreadedResponse renders `&model.User{Id: id}`) and `is_following`
 * where the caller has a thread membership.
 */
export function postListJson(
  order: readonly string[],
  list: readonly Post[],
  page: { nextPostId?: string; prevPostId?: string; hasNext?: boolean } = {},
  users: ReadonlyMap<string, Record<string, unknown>> = new Map(),
): Record<string, unknown> {
  const posts: Record<string, unknown> = {};
  for (const p of list) {
    const json = postToJson(p);
    if (p.participantIds.length > 0) json.participants = p.participantIds.map((id) => users.get(id) ?? bareUserJson(id));
    if (p.isFollowing !== undefined) json.is_following = p.isFollowing;
    posts[p.id] = json;
  }
  return {
    order,
    posts,
    next_post_id: page.nextPostId ?? "",
    prev_post_id: page.prevPostId ?? "",
    has_next: page.hasNext ?? false,
    first_inaccessible_post_time: 0,
  };
}
