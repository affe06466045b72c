import type { MetricsRegistry } from "@switchboard/metrics";

/** Every metric the posts service emits beyond the runtime's (rpc, outbox, nats, process). */
export function createPostsMetrics(m: MetricsRegistry) {
  const created = m.counter({ name: "sb_posts_created_total", help: "Posts created (idempotent replays not counted)" });
  const replays = m.counter({
    name: "sb_posts_idempotent_replays_total",
    help: "CreatePost calls answered with the post an earlier call with the same pending_post_id created",
  });
  const conflicts = m.counter({
    name: "sb_posts_idempotency_conflicts_total",
    help: "Replays whose payload differed from the original post (the original was returned)",
  });
  const denials = m.counter({
    name: "sb_posts_permission_denials_total",
    help: "Calls refused for lack of permission (including channels hidden from the caller), by method",
    labelNames: ["method"],
  });
  const statusFailures = m.counter({
    name: "sb_posts_presence_lookup_failures_total",
    help: "@here posts whose members' statuses presence did not give (nobody was mentioned by @here)",
  });
  return {
    postCreated: (): void => created.inc(),
    presenceLookupFailed: (): void => statusFailures.inc(),
    idempotentReplay: (payloadDiffers: boolean): void => {
      replays.inc();
      if (payloadDiffers) conflicts.inc();
    },
    permissionDenied: (method: string): void => denials.inc({ method }),
  };
}

export type PostsMetrics = ReturnType<typeof createPostsMetrics>;
