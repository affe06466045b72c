/**
 * Acceptance: the REST v4 slice through the stock Client4, statuses from the presence
 * service, session revocation closing sockets on every gateway, and membership changes
 * reaching a user connected to another gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, waitFor, newClient4, type Stack } from "@switchboard/testkit";
import { connect, newUser, postOf, type Recorder, type TestUser } from "./support.js";

let stack: Stack;
let url: string;
let url2: string;
let alice: TestUser;
let bob: TestUser;
let teamId: string;
const open: Recorder[] = [];

beforeAll(async () => {
  stack = await startStack({
    gateways: 2,
    presenceEnv: { SB_PRESENCE_OFFLINE_GRACE_MS: "300" },
    // Small enough to reach in a test: channels of 5 members or more ignore @channel, @all and @here.
    postsEnv: { SB_POSTS_MAX_NOTIFICATIONS_PER_CHANNEL: "5" },
  });
  [url, url2] = stack.gatewayUrls as [string, string];
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
  const team = await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never);
  teamId = team.id;
  await alice.client.addToTeam(teamId, bob.id);
});

afterAll(async () => {
  for (const r of open) r.close();
  await stack?.stop();
});

describe("REST v4 slice through the stock Client4", () => {
  it("users, teams, channels, posts, reactions and views answer as Mattermost does", async () => {
    const c = alice.client;
    expect((await c.getMe()).id).toBe(alice.id);
    expect((await c.getUser(bob.id)).username).toBe(bob.username);
    const profiles = await c.getProfilesByIds([alice.id, bob.id]);
    expect(profiles.map((u) => u.id).sort()).toEqual([alice.id, bob.id].sort());
    expect((await c.getMyTeams()).map((t) => t.id)).toContain(teamId);

    const ch = await c.createChannel({ team_id: teamId, name: `rest${Date.now()}`, display_name: "REST", type: "O" } as never);
    expect((await c.getChannel(ch.id)).name).toBe(ch.name);
    const member = await c.addToChannel(bob.id, ch.id);
    expect(member.user_id).toBe(bob.id);
    expect((await c.getChannelMembers(ch.id)).map((m) => m.user_id).sort()).toEqual([alice.id, bob.id].sort());
    const mine = await c.getMyChannels(teamId);
    expect(mine.map((x) => x.id)).toContain(ch.id);

    const dm = await c.createDirectChannel([alice.id, bob.id]);
    expect(dm.type).toBe("D");

    const t0 = Date.now();
    const p1 = await c.createPost({ channel_id: ch.id, message: "one" });
    const p2 = await c.createPost({ channel_id: ch.id, message: "two", root_id: p1.id });
    expect((await c.getPost(p2.id)).root_id).toBe(p1.id);
    const list = await c.getPosts(ch.id, 0, 60);
    expect(list.order.slice(0, 2)).toEqual([p2.id, p1.id]);
    expect(list.posts[p1.id]!.message).toBe("one");
    const since = await c.getPostsSince(ch.id, t0 - 1);
    expect(Object.keys(since.posts).sort()).toEqual([p1.id, p2.id].sort());

    const updated = await c.updatePost({ ...p1, message: "one, updated" });
    expect(updated.message).toBe("one, updated");
    expect(updated.edit_at).toBeGreaterThan(0);

    const reaction = await c.addReaction(alice.id, p1.id, "smile");
    expect(reaction).toMatchObject({ user_id: alice.id, post_id: p1.id, emoji_name: "smile" });
    await c.removeReaction(alice.id, p1.id, "smile");

    const viewed = await c.viewMyChannel(ch.id);
    expect((viewed as unknown as { status: string }).status).toBe("OK");
    expect(((await c.ping(false)) as unknown as { status: string }).status).toBe("OK");
    const cfg = (await c.getClientConfig()) as unknown as Record<string, string>;
    expect(cfg.Version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(cfg.EnableReliableWebSockets).toBe("true");

    await c.removeFromChannel(bob.id, ch.id);
    await c.deletePost(p2.id);
  });

  it("logout revokes the session: its token stops working", async () => {
    const u = await newUser(url, "leaver");
    const token = u.token;
    await u.client.logout();
    const again = newClient4(url);
    again.setToken(token);
    await expect(again.getMe()).rejects.toMatchObject({ status_code: 401 });
  });
});

describe("statuses come from the presence service", () => {
  it("a connected user is online; the status endpoints and WebSocket actions agree; manual dnd is kept", async () => {
    const a = await connect(url, alice.token);
    open.push(a);
    await waitFor(async () => (await alice.client.getStatus(alice.id)).status === "online", { what: "alice online" });
    const statuses = await bob.client.getStatusesByIds([alice.id, bob.id]);
    expect(statuses.find((s) => s.user_id === alice.id)!.status).toBe("online");
    expect(statuses.find((s) => s.user_id === bob.id)!.status).toBe("offline");

    const reply = await new Promise<Record<string, unknown>>((resolve) => a.client.getStatusesByIds([alice.id, bob.id], resolve as never));
    expect(reply).toMatchObject({ status: "OK", data: { [alice.id]: "online", [bob.id]: "offline" } });

    await alice.client.updateStatus({ user_id: alice.id, status: "dnd" });
    const change = await a.next((e) => e.event === "status_change" && e.data!.status === "dnd");
    expect(change.data).toEqual({ status: "dnd", user_id: alice.id });
    expect(change.broadcast!.user_id).toBe(alice.id);
    expect((await alice.client.getStatus(alice.id)).manual).toBe(true);
    await alice.client.updateStatus({ user_id: alice.id, status: "online" });
  });

  it("@here mentions the channel's online members only, @channel every member", async () => {
    const [on, away, off] = [await newUser(url, "here-on"), await newUser(url, "here-away"), await newUser(url, "here-off")];
    const ch = await alice.client.createChannel({ team_id: teamId, name: `here${Date.now()}`, display_name: "Here", type: "O" } as never);
    for (const u of [on, away, off]) {
      await alice.client.addToTeam(teamId, u.id);
      await alice.client.addToChannel(u.id, ch.id);
    }
    const onWs = await connect(url, on.token);
    const awayWs = await connect(url2, away.token);
    open.push(onWs, awayWs);
    await away.client.updateStatus({ user_id: away.id, status: "away" });
    await waitFor(
      async () => {
        const s = await alice.client.getStatusesByIds([on.id, away.id, off.id]);
        return s.map((x) => x.status).join() === "online,away,offline";
      },
      { what: "one online, one away, one offline" },
    );
    const mentionCounts = async () =>
      Object.fromEntries((await alice.client.getChannelMembers(ch.id)).map((m) => [m.user_id, m.mention_count])) as Record<string, number>;

    const here = await alice.client.createPost({ channel_id: ch.id, message: "@here standup" });
    const gotOn = await onWs.next((e) => e.event === "posted" && postOf(e).id === here.id);
    expect(gotOn.data!.mentions).toBe(JSON.stringify([on.id]));
    const gotAway = await awayWs.next((e) => e.event === "posted" && postOf(e).id === here.id);
    expect(gotAway.data).not.toHaveProperty("mentions");
    expect(await mentionCounts()).toMatchObject({ [on.id]: 1, [away.id]: 0, [off.id]: 0, [alice.id]: 0 });

    const all = await alice.client.createPost({ channel_id: ch.id, message: "@channel release" });
    const allAway = await awayWs.next((e) => e.event === "posted" && postOf(e).id === all.id);
    expect(allAway.data!.mentions).toBe(JSON.stringify([away.id]));
    expect(await mentionCounts()).toMatchObject({ [on.id]: 2, [away.id]: 1, [off.id]: 1, [alice.id]: 0 });
  });

  it("in a channel past the limit @channel mentions nobody and the poster gets Mattermost's ephemeral notice", async () => {
    const ch = await alice.client.createChannel({ team_id: teamId, name: `big${Date.now()}`, display_name: "Big", type: "O" } as never);
    const others = [];
    for (let i = 0; i < 5; i++) {
      const u = await newUser(url, "big");
      await alice.client.addToTeam(teamId, u.id);
      await alice.client.addToChannel(u.id, ch.id);
      others.push(u);
    }
    const poster = await connect(url, alice.token);
    const member = await connect(url2, others[0]!.token);
    open.push(poster, member);
    const p = await alice.client.createPost({ channel_id: ch.id, message: "@channel all hands" });
    const seen = await member.next((e) => e.event === "posted" && postOf(e).id === p.id);
    expect(seen.data).not.toHaveProperty("mentions");
    const notice = await poster.next((e) => e.event === "ephemeral_message");
    expect(notice.broadcast).toMatchObject({ user_id: alice.id, channel_id: ch.id });
    expect(postOf(notice)).toMatchObject({
      type: "system_ephemeral",
      channel_id: ch.id,
      message: "@channel notifications are disabled in channels with more than 5 users. Contact your system administrator for more information.",
    });
    expect((await alice.client.getChannelMembers(ch.id)).every((m) => m.mention_count === 0)).toBe(true);
  });
});

describe("sessions and memberships across gateways", () => {
  it("revoking a session closes its sockets on every gateway within a second", async () => {
    const u = await newUser(url, "revoked");
    const onA = await connect(url, u.token);
    const onB = await connect(url2, u.token);
    open.push(onA, onB);
    const closes: number[] = [];
    for (const r of [onA, onB]) r.sockets.at(-1)!.once("close", (code) => closes.push(code));
    const t0 = Date.now();
    await u.client.logout();
    await waitFor(() => closes.length === 2, { timeoutMs: 5_000, what: "both sockets closed" });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(closes).toEqual([4501, 4501]);
    onA.close();
    onB.close();
  });

  it("a user on another gateway is added and receives the very next post", async () => {
    const ch = await alice.client.createChannel({ team_id: teamId, name: `x${Date.now()}`, display_name: "X", type: "P" } as never);
    const b = await connect(url2, bob.token);
    open.push(b);
    await alice.client.addToChannel(bob.id, ch.id);
    const p = await alice.client.createPost({ channel_id: ch.id, message: "welcome" });
    const m = await b.next((e) => e.event === "posted" && postOf(e).id === p.id);
    expect(m.broadcast!.channel_id).toBe(ch.id);
  });
});
