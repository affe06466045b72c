/**
 * GetChannelEvents: a channel's committed events by channel_seq from the database's event log,
 * the envelopes exactly as the stream got them (same bytes, same event id), also when the
 * stream no longer holds them; internal callers (no token) may read any channel, a caller
 * with a token only a channel they belong to; bad ranges are refused clearly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeEvent, readStreamRange, streams, subjects } from "@switchboard/bus";
import type { Db } from "@switchboard/db";
import type { PostsClient } from "@switchboard/rpc";
import { waitFor } from "@switchboard/testkit";
import type { PostsApp } from "../src/app.js";
import { openTestDb, outcome, postsClient, signup, startBacking, startPostsInProcess, teamWithChannel, type Backing, type TestUser } from "./harness.js";

describe("GetChannelEvents", () => {
  let b: Backing;
  let db: Db;
  let app: PostsApp;
  let client: PostsClient;
  let alice: TestUser;
  let eve: TestUser;

  beforeAll(async () => {
    b = await startBacking();
    db = await openTestDb(b);
    [alice, eve] = [await signup(b), await signup(b)];
    app = await startPostsInProcess(b, { SB_POD_NAME: "posts-channel-events" });
    client = postsClient(app.grpcPort);
  });

  afterAll(async () => {
    client?.close();
    await app?.stop();
    await db?.close();
    await b?.stop();
  });

  it("returns the published envelopes of a seq range verbatim, from the event log", async () => {
    const { channel } = await teamWithChannel(client, alice, `evlog${Date.now().toString(36)}`);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await client.createPost({ post: { channelId: channel.id, message: `m${i}` } }, { token: alice.token })).post!.id);
    await client.deletePost({ postId: ids[4]! }, { token: alice.token });
    await waitFor(async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox")).rows[0]!.n === 0, { what: "outbox drained" });
    const stream = await readStreamRange(b.bus, { stream: streams.events.name, start: "all", filterSubjects: [subjects.channel(channel.id)] });
    const last = decodeEvent(stream.at(-1)!.data).channelSeq;

    const all = await client.getChannelEvents({ channelId: channel.id, afterSeq: 0n, upToSeq: last });
    expect(all.events.map((e) => Buffer.from(e).toString("hex"))).toEqual(stream.map((m) => Buffer.from(m.data).toString("hex")));
    // Both post_deleted copies share the last number.
    expect(all.events.slice(-2).map((e) => decodeEvent(e).event)).toEqual(["post_deleted", "post_deleted"]);

    const mid = await client.getChannelEvents({ channelId: channel.id, afterSeq: 2n, upToSeq: 4n });
    expect(mid.events.map((e) => decodeEvent(e).channelSeq)).toEqual([3n, 4n]);
    expect((await client.getChannelEvents({ channelId: channel.id, afterSeq: 4n, upToSeq: 4n })).events).toEqual([]);
  });

  it("GetChannelHeads gives each channel's last committed number; with a token, the caller's channels only", async () => {
    const { channel } = await teamWithChannel(client, alice, `evhead${Date.now().toString(36)}`);
    const other = (await teamWithChannel(client, alice, `evhead2${Date.now().toString(36)}`)).channel;
    for (let i = 0; i < 3; i++) await client.createPost({ post: { channelId: channel.id, message: `h${i}` } }, { token: alice.token });
    const { rows } = await db.query<{ id: string; seq: string }>("SELECT id, seq FROM channels WHERE id = ANY($1::text[])", [[channel.id, other.id]]);
    const want = new Map(rows.map((r) => [r.id, BigInt(r.seq)]));
    const heads = (await client.getChannelHeads({ channelIds: [channel.id, other.id, channel.id] })).heads;
    expect(new Map(heads.map((h) => [h.channelId, h.seq]))).toEqual(want);
    expect(want.get(channel.id)).toBe(want.get(other.id)! + 3n);
    expect((await client.getChannelHeads({ channelIds: [channel.id] }, { token: eve.token })).heads).toEqual([]);
    expect(await outcome(client.getChannelHeads({ channelIds: ["nope"] }))).toBe("invalid_argument");
    expect(await outcome(client.getChannelHeads({ channelIds: Array.from({ length: 1_001 }, () => channel.id) }))).toBe("invalid_argument");
  });

  it("a caller with a token reads only a channel it belongs to; bad ranges are refused", async () => {
    const { channel } = await teamWithChannel(client, alice, `evauth${Date.now().toString(36)}`);
    expect(await outcome(client.getChannelEvents({ channelId: channel.id, afterSeq: 0n, upToSeq: 3n }, { token: alice.token }))).toBe("ok");
    expect(await outcome(client.getChannelEvents({ channelId: channel.id, afterSeq: 0n, upToSeq: 3n }, { token: eve.token }))).toBe("permission_denied");
    expect(await outcome(client.getChannelEvents({ channelId: channel.id, afterSeq: 5n, upToSeq: 3n }))).toBe("invalid_argument");
    expect(await outcome(client.getChannelEvents({ channelId: channel.id, afterSeq: 0n, upToSeq: 100_000n }))).toBe("invalid_argument");
    expect(await outcome(client.getChannelEvents({ channelId: "nope", afterSeq: 0n, upToSeq: 3n }))).toBe("invalid_argument");
  });
});
