/**
 * Bad input gets the right gRPC code and a clear message, writes nothing, and the process
 * keeps serving: malformed ids, empty or over-long messages, unknown channels, non-members,
 * bad tokens, a call without a deadline stuck on a lock, an oversized request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subjects } from "@switchboard/bus";
import type { Db } from "@switchboard/db";
import type { PostsClient } from "@switchboard/rpc";
import { waitFor } from "@switchboard/testkit";
import type { PostsApp } from "../src/app.js";
import { MAX_MESSAGE_RUNES } from "../src/posts/post-validation.js";
import {
  failure,
  openTestDb,
  outcome,
  postsClient,
  signup,
  startBacking,
  startPostsInProcess,
  storedEvents,
  teamWithChannel,
  type Backing,
  type TestUser,
} from "./harness.js";

const DEFAULT_DEADLINE_MS = 1_000;

describe("posts bad input", () => {
  let b: Backing;
  let db: Db;
  let app: PostsApp;
  let client: PostsClient;
  let alice: TestUser;
  let bob: TestUser;
  let channelId = "";
  let privateId = "";

  beforeAll(async () => {
    b = await startBacking();
    db = await openTestDb(b);
    alice = await signup(b);
    bob = await signup(b);
    app = await startPostsInProcess(b, { SB_POSTS_GRPC_DEFAULT_DEADLINE_MS: String(DEFAULT_DEADLINE_MS) });
    // A client allowed to send more than the server accepts, so the server's limit is what answers.
    client = postsClient(app.grpcPort, { maxMessageBytes: 16 * 1024 * 1024 });
    const { team, channel } = await teamWithChannel(client, alice, "bad");
    channelId = channel.id;
    privateId = (await client.createChannel({ teamId: team.id, name: "secret", displayName: "Secret", type: "P" }, { token: alice.token })).channel!.id;
    await client.addTeamMember({ teamId: team.id, userId: bob.id }, { token: bob.token });
  });

  afterAll(async () => {
    client?.close();
    await app?.stop();
    await db?.close();
    await b?.stop();
  });

  const as = (u: TestUser) => ({ token: u.token });
  const postCount = async (): Promise<number> => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM posts")).rows[0]!.n;
  const postedCount = async (ch: string): Promise<number> =>
    (await storedEvents(b.bus, [subjects.channel(ch)])).filter((e) => e.event.event === "posted").length;

  it("refuses malformed ids, empty and over-long messages with INVALID_ARGUMENT", async () => {
    const cases: [string, () => Promise<unknown>][] = [
      ["channel id", () => client.createPost({ post: { channelId: "not-an-id", message: "x" } }, as(alice))],
      ["channel id with a wildcard", () => client.createPost({ post: { channelId: "*".repeat(26), message: "x" } }, as(alice))],
      ["root id", () => client.createPost({ post: { channelId, rootId: "abc", message: "x" } }, as(alice))],
      ["no post", () => client.createPost({}, as(alice))],
      ["empty message", () => client.createPost({ post: { channelId, message: "" } }, as(alice))],
      ["blank message", () => client.createPost({ post: { channelId, message: " \n\t " } }, as(alice))],
      ["over-long message", () => client.createPost({ post: { channelId, message: "x".repeat(MAX_MESSAGE_RUNES + 1) } }, as(alice))],
      ["over-long in code points", () => client.createPost({ post: { channelId, message: "😀".repeat(MAX_MESSAGE_RUNES + 1) } }, as(alice))],
      ["props not an object", () => client.createPost({ post: { channelId, message: "x", propsJson: new TextEncoder().encode("[1]") } }, as(alice))],
      ["file ids", () => client.createPost({ post: { channelId, message: "x", fileIds: ["nope"] } }, as(alice))],
      ["system type", () => client.createPost({ post: { channelId, message: "x", type: "system_join_channel" } }, as(alice))],
      ["root of another kind", () => client.createPost({ post: { channelId, rootId: "a".repeat(26), message: "x" } }, as(alice))],
      ["get post id", () => client.getPost({ postId: "../etc" }, as(alice))],
      ["member user id", () => client.addChannelMember({ channelId, userId: "x>" }, as(alice))],
      ["negative page", () => client.getPosts({ channelId, page: -1 }, as(alice))],
      ["team name", () => client.createTeam({ name: "a", displayName: "A" }, as(alice))],
      ["channel name", () => client.createChannel({ teamId: "a".repeat(26), name: "Bad Name", displayName: "B" }, as(alice))],
    ];
    for (const [what, call] of cases) expect({ what, code: await outcome(call()) }).toEqual({ what, code: "invalid_argument" });
    const e = await failure(client.createPost({ post: { channelId, message: "x".repeat(MAX_MESSAGE_RUNES + 1) } }, as(alice)));
    expect(e.message).toContain(`limit is ${MAX_MESSAGE_RUNES}`);
    expect(e.id).toBe("model.post.is_valid.message_length.app_error");
    // Code points, not UTF-16 units: the longest message of emoji is accepted.
    expect(await outcome(client.createPost({ post: { channelId, message: "😀".repeat(MAX_MESSAGE_RUNES) } }, as(alice)))).toBe("ok");
    expect(await postCount()).toBe(1);
  });

  it("answers unknown channels NOT_FOUND and non-members PERMISSION_DENIED or NOT_FOUND", async () => {
    const before = await postCount();
    const unknown = await failure(client.createPost({ post: { channelId: "q".repeat(26), message: "x" } }, as(alice)));
    expect(unknown).toMatchObject({ code: "not_found", id: "app.channel.get.existing.app_error" });
    const nonMember = await failure(client.createPost({ post: { channelId, message: "x" } }, as(bob)));
    expect(nonMember).toMatchObject({ code: "permission_denied", id: "api.context.permissions.app_error" });
    expect(await outcome(client.createPost({ post: { channelId: privateId, message: "x" } }, as(bob)))).toBe("not_found");
    expect(await postCount()).toBe(before);
  });

  it("refuses calls without a valid session", async () => {
    expect(await outcome(client.createPost({ post: { channelId, message: "x" } }))).toBe("unauthenticated");
    expect(await outcome(client.createPost({ post: { channelId, message: "x" } }, { token: "garbage" }))).toBe("unauthenticated");
    expect(await outcome(client.getChannel({ channelId }, { token: alice.token.slice(0, -2) + "xx" }))).toBe("unauthenticated");
  });

  it("ends a call sent without a deadline at the server's default, and commits nothing of it", async () => {
    const before = await postCount();
    const eventsBefore = await postedCount(channelId);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    // Another session holds the channel row, as a long transaction would.
    const holder = db.tx(async (q) => {
      await q.query("SELECT id FROM channels WHERE id = $1 FOR UPDATE", [channelId]);
      locked();
      await released;
    });
    await isLocked;
    const started = Date.now();
    const e = await failure(client.createPost({ post: { channelId, message: "stuck behind a lock" } }, { ...as(alice), deadlineMs: Infinity }));
    expect(e.code).toBe("deadline_exceeded");
    expect(e.message).toContain(`no deadline was set; the server's default of ${DEFAULT_DEADLINE_MS} ms passed`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(DEFAULT_DEADLINE_MS - 50);
    release();
    await holder;
    // The abandoned call now gets the lock, finds its call gone and rolls back; a later post
    // in the channel queues behind it, so once that one is done the first is settled.
    const later = (await client.createPost({ post: { channelId, message: "after the lock" } }, as(alice))).post!;
    expect(await postCount()).toBe(before + 1);
    const { rows } = await db.query<{ message: string }>("SELECT message FROM posts WHERE channel_id = $1 AND create_at >= $2", [channelId, started]);
    expect(rows.map((r) => r.message)).toEqual([later.message]);
    await waitFor(async () => (await postedCount(channelId)) === eventsBefore + 1, { what: "the later post's event" });
    expect(await postedCount(channelId)).toBe(eventsBefore + 1);
  });

  it("refuses an oversized request with RESOURCE_EXHAUSTED and keeps serving", async () => {
    const before = await postCount();
    const e = await failure(client.createPost({ post: { channelId, message: "x".repeat(5 * 1024 * 1024) } }, as(alice)));
    expect(e.code).toBe("resource_exhausted");
    // The transport refused it: the caller is told the kind of failure, grpc-js's own words stay in the cause.
    expect(e.message).toBe("The request or its answer is too large.");
    expect(String((e.cause as { details?: string }).details)).toMatch(/larger than max/);
    expect(await postCount()).toBe(before);
    expect(await outcome(client.createPost({ post: { channelId, message: "still here" } }, as(alice)))).toBe("ok");
  });
});
