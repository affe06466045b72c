/**
 * channel_seq as the gap signal (channel-seq.ts): every change of a channel, written by any
 * of two replicas and however many writers race, publishes events carrying the channel's next
 * number: in stream order the changes of one channel carry 1, 2, 3, ... with no gap and no
 * repeat, all copies of one change share it, and the channel's seq column ends at the last.
 * The writers mix every kind of change: posts of both plans (alone, and replies and mentions in
 * a transaction), edits, deletes, reactions, members added and removed, and team leaves and
 * joins racing channel leaves over the same memberships.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostsClient } from "@switchboard/rpc";
import type { Db } from "@switchboard/db";
import { waitFor } from "@switchboard/testkit";
import type { PostsApp } from "../src/app.js";
import {
  openTestDb,
  outcome,
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

/** The channel an event belongs to, if it is in a channel's sequence ("" otherwise). */
function channelOf(e: StoredEvent): string {
  if (e.event.event === "multiple_channels_viewed" || e.event.event === "added_to_team" || e.event.event === "leave_team") return "";
  return e.event.broadcast?.channelId || e.event.membership?.channelId || "";
}

describe("channel_seq", () => {
  let b: Backing;
  let db: Db;
  const apps: PostsApp[] = [];
  const clients: PostsClient[] = [];
  let alice: TestUser;
  let bob: TestUser;
  const others: TestUser[] = [];
  const as = (u: TestUser) => ({ token: u.token });

  beforeAll(async () => {
    b = await startBacking();
    db = await openTestDb(b);
    [alice, bob] = [await signup(b), await signup(b)];
    for (let i = 0; i < 8; i++) others.push(await signup(b));
    for (let i = 0; i < 2; i++) {
      const app = await startPostsInProcess(b, { SB_POD_NAME: `posts-seq-${String(i)}` });
      apps.push(app);
      clients.push(postsClient(app.grpcPort));
    }
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const a of apps) await a.stop();
    await db?.close();
    await b?.stop();
  });

  async function channelIdsOf(teamId: string): Promise<string[]> {
    return (await db.query<{ id: string }>("SELECT id FROM channels WHERE team_id = $1", [teamId])).rows.map((r) => r.id);
  }

  /**
   * Once the outbox is drained: the stream's events of each channel, change by change, carry
   * 1, 2, 3, ..., the copies of a change its number, and the channel's seq is the last one.
   * Returns the event kinds seen and the number of events per channel.
   */
  async function expectNumbered(channelIds: readonly string[]): Promise<{ kinds: Set<string>; counts: Map<string, number> }> {
    await waitFor(async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox")).rows[0]!.n === 0, { what: "outbox drained" });
    const stored = await storedEvents(b.bus);
    const { rows } = await db.query<{ id: string; seq: number }>("SELECT id, seq FROM channels WHERE id = ANY($1::text[])", [channelIds]);
    expect(rows.length).toBe(channelIds.length);
    const kinds = new Set<string>();
    const counts = new Map<string, number>();
    for (const r of rows) {
      const events = stored.filter((e) => channelOf(e) === r.id);
      counts.set(r.id, events.length);
      // Copies of one change are published together, so each change is one run in stream order.
      const changes: { changeId: string; seq: bigint }[] = [];
      for (const e of events) {
        kinds.add(e.event.event);
        const last = changes[changes.length - 1];
        if (last?.changeId === e.event.changeId) expect(e.event.channelSeq, `copies of ${e.event.event} share its number`).toBe(last.seq);
        else changes.push({ changeId: e.event.changeId, seq: e.event.channelSeq });
      }
      expect(new Set(changes.map((c) => c.changeId)).size, "each change is one run").toBe(changes.length);
      expect(
        changes.map((c) => c.seq),
        `channel ${r.id}`,
      ).toEqual(changes.map((_, i) => BigInt(i + 1)));
      expect(BigInt(r.seq), "the channel's seq is its last change's").toBe(BigInt(changes.length));
    }
    return { kinds, counts };
  }

  it("numbers each channel's changes 1, 2, 3, ... in stream order, under concurrent writers on two replicas", async () => {
    const [c0, c1] = [clients[0]!, clients[1]!];
    const pick = (i: number) => (i % 2 ? c1 : c0);
    const { team, channel } = await teamWithChannel(c0, alice, "seq");
    const users = [bob, ...others];
    for (const u of users) await pick(users.indexOf(u)).addTeamMember({ teamId: team.id, userId: u.id }, as(u));
    for (const u of users) await c0.addChannelMember({ channelId: channel.id, userId: u.id }, as(alice));
    const dm = (await c1.createDirectChannel({ userId1: alice.id, userId2: bob.id }, as(alice))).channel!;
    const roots = await Promise.all(
      Array.from({ length: 6 }, (_, i) => pick(i).createPost({ post: { channelId: channel.id, message: `root ${i}` } }, as(alice))),
    );
    const rootIds = roots.map((r) => r.post!.id);

    const writers: Promise<unknown>[] = [];
    // Posts of both plans from both replicas, in the team channel and the direct one.
    for (let i = 0; i < 40; i++) {
      const u = i % 3 === 0 ? bob : alice;
      const message = i % 4 === 0 ? `@${bob.username} look ${i}` : `plain ${i}`;
      const rootId = i % 5 === 0 ? rootIds[i % 5]! : "";
      writers.push(pick(i).createPost({ post: { channelId: channel.id, message, rootId } }, as(u)));
      if (i % 4 === 1) writers.push(pick(i + 1).createPost({ post: { channelId: dm.id, message: `dm ${i}` } }, as(u)));
    }
    // Reactions added and removed and edits on roots 0-4; root 5 is deleted.
    for (let i = 0; i < 12; i++) {
      const postId = rootIds[i % 5]!;
      writers.push(
        pick(i)
          .addReaction({ reaction: { userId: bob.id, postId, emojiName: `e${i % 3}` } }, as(bob))
          .then(() => pick(i + 1).removeReaction({ userId: bob.id, postId, emojiName: `e${i % 3}` }, as(bob))),
      );
    }
    for (let i = 1; i < 4; i++) writers.push(pick(i).patchPost({ postId: rootIds[i]!, message: `edited ${i}` }, as(alice)));
    writers.push(c1.deletePost({ postId: rootIds[5]! }, as(alice)));
    // Team leaves racing channel leaves of the same users: only one of each pair changes the
    // channel's membership; the other must not number a change it did not make.
    for (const [i, u] of others.entries()) {
      writers.push(outcome(pick(i).removeChannelMember({ channelId: channel.id, userId: u.id }, as(alice))));
      writers.push(outcome(pick(i + 1).removeTeamMember({ teamId: team.id, userId: u.id }, as(alice))));
    }
    await Promise.all(writers);
    // Rejoin the team (its default channels) and the channel, concurrently.
    await Promise.all(others.map((u, i) => pick(i).addTeamMember({ teamId: team.id, userId: u.id }, as(u))));
    await Promise.all(others.map((u, i) => pick(i).addChannelMember({ channelId: channel.id, userId: u.id }, as(alice))));

    const { kinds, counts } = await expectNumbered([...(await channelIdsOf(team.id)), dm.id]);
    expect([...kinds].sort()).toEqual(
      ["channel_created", "direct_added", "post_deleted", "post_edited", "posted", "reaction_added", "reaction_removed", "user_added", "user_removed"].sort(),
    );
    expect(counts.get(channel.id)).toBeGreaterThan(100);
  });

  it("a team leave that finds the channel left meanwhile numbers no change of it", async () => {
    const [c0, c1] = [clients[0]!, clients[1]!];
    const { team, channel } = await teamWithChannel(c0, alice, "race");
    const u = others[0]!;
    await c0.addTeamMember({ teamId: team.id, userId: u.id }, as(u));
    await c0.addChannelMember({ channelId: channel.id, userId: u.id }, as(alice));
    // Hold the channel row so that the channel leave queues on it first, then the team leave
    // (which has already read the membership); released, the channel leave wins.
    const waiting = async (n: number) =>
      (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))
        .rows[0]!.n >= n;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let held!: () => void;
    const isHeld = new Promise<void>((r) => (held = r));
    const holder = db.session(async (s) => {
      await s.query("BEGIN");
      await s.query("SELECT id FROM channels WHERE id = $1 FOR UPDATE", [channel.id]);
      held();
      await released;
      await s.query("COMMIT");
    });
    await isHeld;
    const leaveChannel = outcome(c0.removeChannelMember({ channelId: channel.id, userId: u.id }, as(alice)));
    await waitFor(() => waiting(1), { what: "the channel leave waiting for the channel" });
    const leaveTeam = outcome(c1.removeTeamMember({ teamId: team.id, userId: u.id }, as(alice)));
    await waitFor(() => waiting(2), { what: "the team leave waiting for the channel" });
    release();
    await holder;
    expect([await leaveChannel, await leaveTeam]).toEqual(["ok", "ok"]);
    await expectNumbered(await channelIdsOf(team.id));
  });
});
