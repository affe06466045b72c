/**
 * The relay's leadership is a PostgreSQL session held for the process's life: it must not
 * come out of the pool that serves calls. With a pool of one connection, posts still answers
 * calls (and relays them) while it leads the relay.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostsClient } from "@switchboard/rpc";
import { waitFor } from "@switchboard/testkit";
import type { PostsApp } from "../src/app.js";
import { postedEventsFor, postsClient, signup, startBacking, startPostsInProcess, teamWithChannel, type Backing, type TestUser } from "./harness.js";

describe("a call pool of one connection", () => {
  let b: Backing;
  let app: PostsApp;
  let client: PostsClient;
  let alice: TestUser;

  beforeAll(async () => {
    b = await startBacking();
    alice = await signup(b);
    app = await startPostsInProcess(b, { SB_POSTS_DB_POOL_SIZE: "1" });
    client = postsClient(app.grpcPort);
  });

  afterAll(async () => {
    client?.close();
    await app?.stop();
    await b?.stop();
  });

  it("serves calls while the relay leads, and relays them", async () => {
    await waitFor(async () => (await app.metrics.value("sb_outbox_leader")) === 1, { what: "relay leadership" });
    const opts = { token: alice.token, deadlineMs: 5_000 };
    const { channel } = await teamWithChannel(client, alice, "pool");
    const posts = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => (await client.createPost({ post: { channelId: channel.id, message: `small pool ${i}` } }, opts)).post!),
    );
    expect((await client.getPosts({ channelId: channel.id, perPage: 10 }, opts)).order).toHaveLength(5);
    for (const p of posts) await waitFor(async () => (await postedEventsFor(b.bus, channel.id, p.id)).length === 1, { what: `posted ${p.id}` });
  });
});
