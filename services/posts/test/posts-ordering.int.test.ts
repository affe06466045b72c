/**
 * docs/reliability.md R6: each channel's events reach the stream in commit order, whatever
 * the relay's parallelism. The test keeps the relay on standby (it holds the relay's
 * advisory lock) while changes pile up, then lets it publish them all in one pass, where
 * partitions run in parallel: only events that share the channel's partition keep their order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subjects } from "@switchboard/bus";
import type { Db } from "@switchboard/db";
import type { PostsClient } from "@switchboard/rpc";
import { waitFor } from "@switchboard/testkit";
import type { PostsApp } from "../src/app.js";
import {
  openTestDb,
  postsClient,
  signup,
  startBacking,
  startPostsInProcess,
  storedEvents,
  teamWithChannel,
  type Backing,
  type StoredEvent,
  type TestUser,
} from "./harness.js";

describe("per-channel event order", () => {
  let b: Backing;
  let db: Db;
  let app: PostsApp;
  let client: PostsClient;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let releaseRelay!: () => void;
  let relayHeld: Promise<void>;

  beforeAll(async () => {
    b = await startBacking();
    db = await openTestDb(b);
    [alice, bob, carol] = [await signup(b), await signup(b), await signup(b)];
    let held!: () => void;
    const isHeld = new Promise<void>((r) => (held = r));
    const released = new Promise<void>((r) => (releaseRelay = r));
    relayHeld = db.session(async (s) => {
      await s.query("SELECT pg_advisory_lock(hashtext('sb_outbox_relay_posts'))");
      held();
      await released;
      await s.query("SELECT pg_advisory_unlock(hashtext('sb_outbox_relay_posts'))");
    });
    await isHeld;
    app = await startPostsInProcess(b, { SB_POSTS_RELAY_POLL_MS: "50" });
    client = postsClient(app.grpcPort);
  });

  afterAll(async () => {
    releaseRelay?.();
    await relayHeld;
    client?.close();
    await app?.stop();
    await db?.close();
    await b?.stop();
  });

  it("publishes membership changes and posts of a channel in commit order, seq by seq", async () => {
    const as = (u: TestUser) => ({ token: u.token });
    const { team, channel } = await teamWithChannel(client, alice, "order");
    await client.addTeamMember({ teamId: team.id, userId: bob.id }, as(bob));
    await client.addTeamMember({ teamId: team.id, userId: carol.id }, as(carol));
    await client.addChannelMember({ channelId: channel.id, userId: carol.id }, as(alice));
    for (let i = 0; i < 5; i++) {
      await client.addChannelMember({ channelId: channel.id, userId: bob.id }, as(alice));
      await client.createPost({ post: { channelId: channel.id, message: `while bob is in ${i}` } }, as(alice));
      await client.removeChannelMember({ channelId: channel.id, userId: bob.id }, as(alice));
    }
    // Concurrent writers in the same channel: their order is whatever the channel lock decided.
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => client.createPost({ post: { channelId: channel.id, message: `burst ${i}` } }, as(i % 2 ? alice : carol))),
    );
    expect((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox")).rows[0]!.n).toBeGreaterThan(40);

    releaseRelay();
    await waitFor(async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox")).rows[0]!.n === 0, { what: "outbox drained" });

    const mine = (e: StoredEvent) => e.event.broadcast?.channelId === channel.id || e.event.membership?.channelId === channel.id;
    const stream = (await storedEvents(b.bus)).filter(mine);
    // One seq per change, growing by one, never going back in stream order.
    const seqs = stream.map((e) => e.event.channelSeq);
    expect(seqs).toEqual([...seqs].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    const distinct = [...new Set(seqs)];
    expect(distinct).toEqual(distinct.map((_, i) => BigInt(i + 1)));
    // What bob's edge sees: each add (on his own subject) before the post it must deliver.
    const bobSees = stream
      .filter((e) => e.subject === subjects.user(bob.id) || (e.event.event === "posted" && String(e.data.post).includes("while bob is in")))
      .map((e) => e.event.event);
    expect(bobSees).toEqual(Array.from({ length: 5 }, () => ["user_added", "posted", "user_removed"]).flat());
    const bursts = stream.filter((e) => e.event.event === "posted" && String(e.data.post).includes("burst"));
    expect(bursts).toHaveLength(30);
    // The posts' own order agrees with their seq (create_at never goes back).
    const times = bursts.map((e) => Number((JSON.parse(String(e.data.post)) as { create_at: number }).create_at));
    expect(times).toEqual([...times].sort((x, y) => x - y));
  });
});
