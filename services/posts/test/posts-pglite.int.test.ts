/**
 * The dev setup (`make dev`: one posts process on PGlite): a commit wakes the relay in
 * process, so a post's event reaches the stream at once. The relay's poll interval is far
 * beyond the test's wait, so only the wake-up can deliver it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@switchboard/testkit";
import type { PostsApp } from "../src/app.js";
import { postedEventsFor, postsClient, signup, startBacking, startPostsInProcess, teamWithChannel, type Backing, type TestUser } from "./harness.js";
import type { PostsClient } from "@switchboard/rpc";

describe("posts on PGlite", () => {
  let b: Backing;
  let app: PostsApp;
  let client: PostsClient;
  let alice: TestUser;

  beforeAll(async () => {
    b = await startBacking({ driver: "pglite" });
    alice = await signup(b);
    app = await startPostsInProcess(b, { SB_POSTS_RELAY_POLL_MS: "120000" });
    client = postsClient(app.grpcPort);
  });

  afterAll(async () => {
    client?.close();
    await app?.stop();
    await b?.stop();
  });

  it("relays a post's event at once after its commit, with its channel_seq", async () => {
    const { channel } = await teamWithChannel(client, alice, "pglite");
    for (let i = 0; i < 3; i++) {
      const post = (await client.createPost({ post: { channelId: channel.id, message: `on pglite ${i}` } }, { token: alice.token })).post!;
      const [ev] = await waitFor(
        async () => {
          const found = await postedEventsFor(b.bus, channel.id, post.id);
          return found.length === 1 ? found : undefined;
        },
        { what: "the post's event", timeoutMs: 3_000 },
      );
      // channel_created is the channel's first change.
      expect(ev!.event.channelSeq).toBe(BigInt(i + 2));
    }
  });
});
