/**
 * Acceptance: the unmodified @mattermost/client against a whole Switchboard (every deployable
 * as its own process, real nats-server and PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { connectBus, encodeEvent, publishDurable, subjects } from "@switchboard/bus";
import { newEvent, newId } from "@switchboard/model";
import { MembershipChangeSchema, MembershipChange_Kind } from "@switchboard/proto/events";
import { startStack, waitFor, type Stack } from "@switchboard/testkit";
import { connect, newUser, postOf, seqs, type Recorder, type TestUser } from "./support.js";

let stack: Stack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let teamId: string;
const open: Recorder[] = [];

async function rec(u: TestUser): Promise<Recorder> {
  const r = await connect(url, u.token);
  open.push(r);
  return r;
}

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
  carol = await newUser(url, "carol");
  const team = await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never);
  teamId = team.id;
  await alice.client.addToTeam(teamId, bob.id);
  await alice.client.addToTeam(teamId, carol.id);
});

afterAll(async () => {
  for (const r of open) r.close();
  await stack?.stop();
});

describe("posts reach channel members over the stock WebSocketClient", () => {
  it("createPost, patchPost, deletePost and typing arrive as Mattermost sends them", async () => {
    const ch = await alice.client.createChannel({ team_id: teamId, name: `town${Date.now()}`, display_name: "Town", type: "O" } as never);
    await alice.client.addToChannel(bob.id, ch.id);
    const a = await rec(alice);
    const b = await rec(bob);

    const post = await alice.client.createPost({ channel_id: ch.id, message: "hello @" + bob.username, pending_post_id: `${alice.id}:${Date.now()}` });
    for (const r of [a, b]) {
      const m = await r.next((e) => e.event === "posted" && postOf(e).id === post.id);
      const p = postOf(m);
      expect(typeof m.data!.post).toBe("string");
      expect(p.pending_post_id).toBe(post.pending_post_id);
      expect(p.channel_id).toBe(ch.id);
      expect(m.data!.channel_type).toBe("O");
      expect(m.data!.channel_name).toBe(ch.name);
      expect(m.data!.channel_display_name).toBe("Town");
      expect(m.data!.team_id).toBe(teamId);
      expect(m.broadcast!.channel_id).toBe(ch.id);
    }
    const bm = b.named("posted").find((e) => postOf(e).id === post.id)!;
    expect(bm.data!.mentions).toBe(JSON.stringify([bob.id]));

    await alice.client.patchPost({ id: post.id, message: "edited" });
    for (const r of [a, b]) expect(postOf(await r.next((e) => e.event === "post_edited")).message).toBe("edited");
    await alice.client.deletePost(post.id);
    for (const r of [a, b]) await r.next((e) => e.event === "post_deleted" && postOf(e).id === post.id);

    b.client.userTyping(ch.id, "");
    const typing = await a.next((e) => e.event === "typing");
    expect(typing.data).toEqual({ parent_id: "", user_id: bob.id });
    expect(typing.broadcast!.channel_id).toBe(ch.id);
    // The sender gets no typing event of their own: a later post fences it.
    const fence = await alice.client.createPost({ channel_id: ch.id, message: "fence" });
    await b.next((e) => e.event === "posted" && postOf(e).id === fence.id);
    expect(b.named("typing")).toHaveLength(0);

    for (const r of [a, b]) {
      const s = seqs(r);
      expect(s).toEqual(s.map((_, i) => i));
      expect(r.named("hello")).toHaveLength(1);
    }
  });
});

describe("membership changes are applied before later events", () => {
  it("a member added gets the very next post; a removed member and a non-member get nothing", async () => {
    const ch = await alice.client.createChannel({ team_id: teamId, name: `priv${Date.now()}`, display_name: "Private", type: "P" } as never);
    const pub = await alice.client.createChannel({ team_id: teamId, name: `fence${Date.now()}`, display_name: "Fence", type: "O" } as never);
    await alice.client.addToChannel(bob.id, pub.id);
    await alice.client.addToChannel(carol.id, pub.id);
    const a = await rec(alice);
    const b = await rec(bob);
    const c = await rec(carol);

    await alice.client.addToChannel(bob.id, ch.id);
    const first = await alice.client.createPost({ channel_id: ch.id, message: "right after the add" });
    await b.next((e) => e.event === "posted" && postOf(e).id === first.id);

    await alice.client.removeFromChannel(bob.id, ch.id);
    await b.next((e) => e.event === "user_removed" && e.data!.channel_id === ch.id);
    const secret = await alice.client.createPost({ channel_id: ch.id, message: "after the removal" });
    await a.next((e) => e.event === "posted" && postOf(e).id === secret.id);
    await alice.client.patchPost({ id: secret.id, message: "still secret" });
    await a.next((e) => e.event === "post_edited" && postOf(e).id === secret.id);

    // Fence: a later post in a channel both bob and carol share arrives after anything earlier.
    const fence = await alice.client.createPost({ channel_id: pub.id, message: "fence" });
    await b.next((e) => e.event === "posted" && postOf(e).id === fence.id);
    await c.next((e) => e.event === "posted" && postOf(e).id === fence.id);
    const leaked = (r: Recorder) => r.events.filter((e) => e.broadcast?.channel_id === ch.id && e.event !== "user_removed" && e.event !== "user_added");
    expect(leaked(b).map((e) => e.event)).toEqual(["posted"]);
    expect(leaked(c)).toEqual([]);
    expect(c.events.some((e) => JSON.stringify(e).includes(ch.id))).toBe(false);
  });
});

describe("reliable reconnect on the same gateway", () => {
  it("replays events missed while the socket was dropped without a close frame, with no new hello", async () => {
    const ch = await alice.client.createChannel({ team_id: teamId, name: `replay${Date.now()}`, display_name: "Replay", type: "O" } as never);
    await alice.client.addToChannel(bob.id, ch.id);
    const b = await rec(bob);
    const before = await alice.client.createPost({ channel_id: ch.id, message: "before" });
    await b.next((e) => e.event === "posted" && postOf(e).id === before.id);

    // Drop the TCP connection abruptly: no close frame from the client.
    (b.sockets.at(-1) as unknown as { _socket: { destroy(): void } })._socket.destroy();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await alice.client.createPost({ channel_id: ch.id, message: `during ${i}` })).id);
    await waitFor(() => b.reconnects >= 1, { what: "stock client reconnect" });
    for (const id of ids) await b.next((e) => e.event === "posted" && postOf(e).id === id);

    const got = b.named("posted").map((e) => postOf(e).id);
    expect(got.slice(got.indexOf(before.id) + 1)).toEqual(ids);
    expect(b.named("hello")).toHaveLength(1);
    expect(b.missed).toBe(0);
    const s = seqs(b);
    expect(s).toEqual(s.map((_, i) => i));
  });

  it("a sequence outside the replay window gets a new connection_id and fires the missed-message path once", async () => {
    const b = await rec(bob);
    const firstId = (b.named("hello")[0]!.data as { connection_id: string }).connection_id;
    // Pretend the client has seen far more than the server ever sent.
    (b.client as unknown as { serverSequence: number }).serverSequence = 100_000;
    (b.sockets.at(-1) as unknown as { _socket: { destroy(): void } })._socket.destroy();
    await waitFor(() => b.named("hello").length === 2, { what: "second hello" });
    const second = b.named("hello")[1]!;
    expect(second.seq).toBe(0);
    expect((second.data as { connection_id: string }).connection_id).not.toBe(firstId);
    expect(b.missed).toBe(1);
  });
});

describe("a new channel subscription does not lose what was published before it took effect", () => {
  it("events published right after the membership change are recovered from the stream", async () => {
    // Publish as the posts service would: the change, then a post, back to back. The gateway
    // can only subscribe the channel after it has seen the change, i.e. after the post
    // reached NATS: without the back-fill the post would be lost.
    const bus = await connectBus({ ...stack.nats.as("posts"), name: "test-publisher" });
    try {
      const b = await rec(bob);
      const channelId = newId();
      const membership = create(MembershipChangeSchema, { kind: MembershipChange_Kind.CHANNEL_ADDED, userId: bob.id, channelId, teamId });
      const added = newEvent({
        event: "user_added",
        data: { user_id: bob.id, team_id: teamId },
        broadcast: { userId: bob.id, channelId },
        membership,
        channelSeq: 7n,
      });
      const post = newEvent({
        event: "posted",
        data: { post: JSON.stringify({ id: newId(), channel_id: channelId, message: "racing" }) },
        broadcast: { channelId },
        channelSeq: 8n,
      });
      await Promise.all([
        publishDurable(bus, subjects.user(bob.id), encodeEvent(added), { msgId: added.id }),
        publishDurable(bus, subjects.channel(channelId), encodeEvent(post), { msgId: post.id }),
      ]);
      await b.next((e) => e.event === "posted" && e.broadcast?.channel_id === channelId);
      expect(b.events.filter((e) => e.broadcast?.channel_id === channelId).map((e) => e.event)).toEqual(["user_added", "posted"]);
    } finally {
      await bus.close();
    }
  });
});

describe("converting a channel between public and private (api4/channel.go updateChannelPrivacy)", () => {
  it("channel_updated reaches its members, channel_converted the whole team; refusals as Mattermost's", async () => {
    const ch = await alice.client.createChannel({ team_id: teamId, name: `conv${Date.now()}`, display_name: "Conv", type: "O" } as never);
    await alice.client.addToChannel(bob.id, ch.id);
    const a = await rec(alice);
    const b = await rec(bob);
    const c = await rec(carol);
    const status = async (p: Promise<unknown>): Promise<unknown> =>
      p.then(
        () => "ok",
        (e: { status_code?: number; server_error_id?: string }) => `${String(e.status_code)} ${String(e.server_error_id)}`,
      );
    // Neither a system admin, nor an admin of the team or the channel.
    expect(await status(bob.client.updateChannelPrivacy(ch.id, "P"))).toBe("403 api.context.permissions.app_error");
    expect(await status(alice.client.updateChannelPrivacy(ch.id, "X"))).toBe("400 api.context.invalid_body_param.app_error");
    const townSquare = await alice.client.getChannelByName(teamId, "town-square");
    expect(await status(alice.client.updateChannelPrivacy(townSquare.id, "P"))).toBe("400 api.channel.update_channel_privacy.default_channel_error");

    const converted = await alice.client.updateChannelPrivacy(ch.id, "P");
    expect(converted.type).toBe("P");
    for (const r of [a, b]) {
      const m = await r.next((e) => e.event === "channel_updated" && e.broadcast?.channel_id === ch.id);
      expect(JSON.parse(m.data!.channel as string)).toMatchObject({ id: ch.id, type: "P" });
    }
    for (const r of [a, b, c]) {
      const m = await r.next((e) => e.event === "channel_converted");
      expect(m.data).toEqual({ channel_id: ch.id });
      expect(m.broadcast!.team_id).toBe(teamId);
    }
    expect((await alice.client.getChannel(ch.id)).type).toBe("P");
    // Carol, outside the now private channel, saw its conversion and nothing of it else.
    expect(c.events.filter((e) => e.broadcast?.channel_id === ch.id)).toEqual([]);
    expect((await alice.client.updateChannelPrivacy(ch.id, "O")).type).toBe("O");
    await b.next((e) => e.event === "channel_updated" && (JSON.parse(e.data!.channel as string) as { type?: string }).type === "O");
  });
});
