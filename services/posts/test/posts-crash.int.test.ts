/**
 * docs/reliability.md R4: a committed post's event reaches SB_EVT exactly once whatever
 * dies when: the posts process right after the commit, the relay between the stream's ack
 * and the outbox delete, or NATS itself for 5 s while posts keep being created.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subjects } from "@switchboard/bus";
import type { Db } from "@switchboard/db";
import { spawnDeployable, waitFor, type ChildHandle } from "@switchboard/testkit";
import {
  metric,
  openTestDb,
  outcome,
  postedEventsFor,
  postsClient,
  postsEnv,
  signup,
  startBacking,
  startPostsInProcess,
  storedEvents,
  teamWithChannel,
  type Backing,
  type TestUser,
} from "./harness.js";

describe("outbox crash safety", () => {
  let b: Backing;
  let db: Db;
  let alice: TestUser;
  let channelId = "";
  const running = new Set<ChildHandle>();

  const spawnPosts = async (failpoints = ""): Promise<ChildHandle> => {
    const p = await spawnDeployable("posts", postsEnv(b, { SB_FAILPOINTS: failpoints, SB_POSTS_RELAY_POLL_MS: "100" }));
    running.add(p);
    return p;
  };
  const stopPosts = async (p: ChildHandle): Promise<void> => {
    await p.stop();
    running.delete(p);
  };
  const outboxRows = async (): Promise<number> => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox")).rows[0]!.n;
  const postIdFor = async (pendingPostId: string): Promise<string | undefined> =>
    (await db.query<{ id: string }>("SELECT id FROM posts WHERE user_id = $1 AND pending_post_id = $2", [alice.id, pendingPostId])).rows[0]?.id;

  beforeAll(async () => {
    b = await startBacking({ ownNats: true }); // the outage test kills it
    db = await openTestDb(b);
    alice = await signup(b);
    const setup = await startPostsInProcess(b);
    const client = postsClient(setup.grpcPort);
    channelId = (await teamWithChannel(client, alice, "crash")).channel.id;
    client.close();
    await setup.stop();
  });

  afterAll(async () => {
    await Promise.all([...running].map((p) => p.stop()));
    await db?.close();
    await b?.stop();
  });

  it("posts killed right after the commit: the event is published after restart, once", async () => {
    const p1 = await spawnPosts("posts.after_commit");
    const client = postsClient(p1.ready.grpc_port);
    const pending = `crash-after-commit-${Date.now()}`;
    expect(await outcome(client.createPost({ post: { channelId, message: "committed, then killed", pendingPostId: pending } }, { token: alice.token }))).toBe(
      "unavailable",
    );
    client.close();
    expect(await p1.exited).toBe("SIGKILL");
    running.delete(p1);
    const postId = await postIdFor(pending);
    expect(postId).toBeDefined();
    expect(await outboxRows()).toBeGreaterThan(0);
    expect(await postedEventsFor(b.bus, channelId, postId!)).toHaveLength(0);

    const p2 = await spawnPosts();
    await waitFor(async () => (await outboxRows()) === 0, { what: "restarted relay to drain the outbox" });
    expect(await postedEventsFor(b.bus, channelId, postId!)).toHaveLength(1);
    await stopPosts(p2);
  });

  it("relay killed between the stream's ack and the outbox delete: re-published, dropped as a duplicate", async () => {
    const p3 = await spawnPosts("outbox.after_ack_before_delete");
    const client = postsClient(p3.ready.grpc_port);
    const r = await client.createPost({ post: { channelId, message: "acked, then killed" } }, { token: alice.token });
    client.close();
    expect(await p3.exited).toBe("SIGKILL");
    running.delete(p3);
    expect(await outboxRows()).toBe(1);
    expect(await postedEventsFor(b.bus, channelId, r.post!.id)).toHaveLength(1);

    const p4 = await spawnPosts();
    await p4.waitForLog((l) => l.msg === "duplicate publish dropped by the stream");
    await waitFor(async () => (await outboxRows()) === 0, { what: "outbox drained" });
    expect(await metric(p4.ready.ops_port, "sb_outbox_duplicates_total")).toBe(1);
    expect(await postedEventsFor(b.bus, channelId, r.post!.id)).toHaveLength(1);
    await stopPosts(p4);
  });

  it("NATS down for 5 s while posts are created: every committed post's event arrives, none twice", async () => {
    const app = await startPostsInProcess(b, { SB_POSTS_RELAY_POLL_MS: "100" });
    const client = postsClient(app.grpcPort);
    const created: string[] = [];
    const create = async (i: number) => {
      const r = await client.createPost({ post: { channelId, message: `outage ${i}` } }, { token: alice.token });
      created.push(r.post!.id);
    };
    let i = 0;
    for (; i < 5; i++) await create(i);
    await b.nats.kill();
    // Keep posting through a 5 s outage: the database is up, so every call commits.
    const outageEnd = Date.now() + 5_000;
    while (Date.now() < outageEnd) await create(i++);
    await b.nats.restart();
    for (const end = i + 5; i < end; i++) await create(i);

    await waitFor(async () => (await outboxRows()) === 0, { timeoutMs: 30_000, what: "outbox drained after NATS came back" });
    const posted = (await storedEvents(b.bus, [subjects.channel(channelId)])).filter((e) => e.event.event === "posted");
    const ids = posted.map((e) => (JSON.parse(String(e.data.post)) as { id: string }).id);
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(created.length).toBeGreaterThan(20);
    expect(created.filter((id) => counts.get(id) !== 1)).toEqual([]);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    client.close();
    await app.stop();
  });
});
