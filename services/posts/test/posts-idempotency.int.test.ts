/**
 * docs/reliability.md R5: one pending_post_id sent 20 times at once, spread over two posts
 * processes (real child processes on one PostgreSQL): one row, 20 identical answers, exactly
 * one `posted` event in SB_EVT.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@switchboard/db";
import { postToJson } from "@switchboard/model";
import type { PostsClient } from "@switchboard/rpc";
import { spawnDeployable, waitFor, type ChildHandle } from "@switchboard/testkit";
import { metric, openTestDb, postedEventsFor, postsClient, postsEnv, signup, startBacking, teamWithChannel, type Backing, type TestUser } from "./harness.js";

describe("idempotent CreatePost across two posts processes", () => {
  let b: Backing;
  let db: Db;
  let procs: ChildHandle[] = [];
  let clients: PostsClient[] = [];
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    b = await startBacking();
    db = await openTestDb(b);
    alice = await signup(b);
    bob = await signup(b);
    // A relay poll interval far beyond the test's waits: events must arrive because the commit
    // woke the relay leader (in process, or over NATS from the other replica), not by polling.
    const env = (pod: string) => postsEnv(b, { SB_POD_NAME: pod, SB_POSTS_RELAY_POLL_MS: "120000" });
    procs = await Promise.all([spawnDeployable("posts", env("posts-a")), spawnDeployable("posts", env("posts-b"))]);
    clients = procs.map((p) => postsClient(p.ready.grpc_port));
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(procs.map((p) => p.stop()));
    await db?.close();
    await b?.stop();
  });

  it("stores one post, answers 20 times with it, and publishes one posted event", async () => {
    const [c0, c1] = clients as [PostsClient, PostsClient];
    const { channel } = await teamWithChannel(c0, alice, "idem");
    await c1.addTeamMember({ teamId: channel.teamId, userId: bob.id }, { token: bob.token });
    await c1.addChannelMember({ channelId: channel.id, userId: bob.id }, { token: bob.token });
    const pendingPostId = `${alice.id}:${Date.now()}`;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        clients[i % 2]!.createPost(
          { post: { channelId: channel.id, message: "exactly once, @" + bob.username, pendingPostId }, setOnline: true },
          { token: alice.token },
        ),
      ),
    );

    const json = answers.map((a) => JSON.stringify(postToJson(a.post!)));
    expect(new Set(json).size).toBe(1);
    expect(answers.filter((a) => a.created)).toHaveLength(1);

    const rows = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM posts WHERE user_id = $1 AND pending_post_id = $2", [alice.id, pendingPostId]);
    expect(rows.rows[0]!.n).toBe(1);
    const channelRow = await db.query<{ total_msg_count: number }>("SELECT total_msg_count FROM channels WHERE id = $1", [channel.id]);
    expect(channelRow.rows[0]!.total_msg_count).toBe(1);

    await waitFor(async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox")).rows[0]!.n === 0, { what: "outbox drained" });
    const events = await postedEventsFor(b.bus, channel.id, answers[0]!.post!.id);
    expect(events).toHaveLength(1);
    expect(events[0]!.event.posted?.mentionedUserIds).toEqual([bob.id]);

    const replays = (await Promise.all(procs.map((p) => metric(p.ready.ops_port, "sb_posts_idempotent_replays_total")))).reduce((a, v) => a + v, 0);
    const created = (await Promise.all(procs.map((p) => metric(p.ready.ops_port, "sb_posts_created_total")))).reduce((a, v) => a + v, 0);
    expect(replays).toBe(19);
    expect(created).toBe(1);
  });

  it("relays a post committed on either replica at once, whichever one leads the relay", async () => {
    const leaders = await Promise.all(procs.map((p) => metric(p.ready.ops_port, "sb_outbox_leader")));
    expect(leaders.sort()).toEqual([0, 1]);
    const { channel } = await teamWithChannel(clients[0]!, alice, "wake");
    for (const c of clients) {
      const post = (await c.createPost({ post: { channelId: channel.id, message: "wake the leader" } }, { token: alice.token })).post!;
      await waitFor(async () => (await postedEventsFor(b.bus, channel.id, post.id)).length === 1, { what: "the post's event", timeoutMs: 5_000 });
    }
  });
});
