/**
 * The load client's resume and its records against real gateways: a drained gateway's clients
 * come back on the others with no hello and every post once, and a killed gateway's clients
 * come back with a new hello and without the posts of their time away. The resume-storm
 * benchmark trusts these records for its loss figures, so a record that missed a hello or a
 * post would let a lossy resume pass.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostsService } from "@switchboard/proto/posts";
import { createRpcClient, type PostsClient } from "@switchboard/rpc";
import { seedPopulation, startStack, waitFor, testClientTls, type Population, type Stack } from "@switchboard/testkit";
// The built module: it forks the built load-client.js next to it.
import { startLoadClient, type LoadClient, type Report } from "../dist/ws-load/load-client-pool.js";

let stack: Stack;
let pop: Population;
let posts: PostsClient;
let load: LoadClient;
let ports: number[];

const postInto = async (channelId: string, n: number): Promise<string[]> => {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await posts.createPost({ post: { channelId, message: `m ${String(i)}` } }, { token: pop.admin.token })).post!.id);
  return ids;
};

/** Each client's received post ids, in arrival order. */
const postsOf = (r: Report) => r.conns.map((c) => c.posts.map((p) => r.postIds[p]!));
/** The client's channel besides town-square (its one of the two). */
const channelOf = (i: number) => pop.channels.find((ch) => ch.memberIds.includes(pop.users[i]!.id))!;

beforeAll(async () => {
  stack = await startStack({
    gateways: 3,
    gatewayEnv: {
      SB_GATEWAY_DRAIN_SPREAD_MS: "300",
      SB_GATEWAY_RESUME_HANDOVER_MS: "4000",
      // A killed holder is noticed after this: the window in which a post is missed.
      SB_GATEWAY_RESUME_CLAIM_TIMEOUT_MS: "3000",
    },
  });
  ports = stack.gateways.map((g) => Number(g.ready.port));
  pop = await seedPopulation({ databaseUrl: stack.db.url, postsAddr: stack.addrs.posts, users: 20, channels: 2, membersPerChannel: 10 });
  posts = createRpcClient(PostsService, { address: stack.addrs.posts, defaultDeadlineMs: 10_000, tls: testClientTls("posts") });
  load = await startLoadClient();
  await load.open({
    host: "127.0.0.1",
    port: ports[0]!,
    path: "/api/v4/websocket?connection_id=&sequence_number=0",
    headers: pop.users.map((u) => ({ Authorization: `Bearer ${u.token}` })),
    record: true,
    // Short waits: the test is about what is recorded, not the stock delay.
    reconnect: { ports: [ports[1]!, ports[2]!], delayMs: 1_000, jitterMs: 200 },
  });
  await waitFor(async () => (await load.count()).hellos >= 20, { timeoutMs: 20_000, what: "every hello" });
});

afterAll(async () => {
  await load?.close();
  posts?.close();
  await stack?.stop();
});

describe("load client", () => {
  it("resumes a drained gateway's connections on the others: one hello, seq consecutive, every post once, the reconnect recorded", async () => {
    const before = [...(await postInto(pop.channels[0]!.id, 3)), ...(await postInto(pop.channels[1]!.id, 3))];
    await waitFor(async () => (await load.count()).posted >= 60, { timeoutMs: 15_000, what: "the posts before the drain" });
    stack.gateways[0]!.signal("SIGTERM");
    await waitFor(async () => (await load.count()).closed >= 20, { timeoutMs: 10_000, what: "every close" });
    // While the clients are away (or, if late, once back): handed over on the resume, or live.
    const away = [...(await postInto(pop.channels[0]!.id, 2)), ...(await postInto(pop.channels[1]!.id, 2))];
    // Back = a first frame on the new socket: a post of the handover, or a live one.
    await waitFor(async () => (await load.count()).back >= 20, { timeoutMs: 20_000, what: "every client back" });
    const after = [...away.slice(0, 2), ...(await postInto(pop.channels[0]!.id, 3)), ...away.slice(2), ...(await postInto(pop.channels[1]!.id, 3))];
    await waitFor(async () => (await load.count()).posted >= 160, { timeoutMs: 15_000, what: "the posts after the resume" });
    const r = await load.report();
    const got = postsOf(r);
    r.conns.forEach((c, i) => {
      const mine = new Set(channelOf(i).id === pop.channels[0]!.id ? [...before.slice(0, 3), ...after.slice(0, 5)] : [...before.slice(3), ...after.slice(5)]);
      expect(got[i]).toEqual([...before, ...after].filter((id) => mine.has(id)));
      expect(c.hellos).toBe(1);
      expect(c.connectionIds).toHaveLength(1);
      expect(c.seqErrors).toBe(0);
      expect(c.closes.map((x) => x.code)).toEqual([4000]);
      expect(c.resumes).toHaveLength(1);
      const res = c.resumes[0]!;
      expect(res.port).toBe(ports[1 + (i % 2)]);
      expect(res.hello).toBe(false);
      expect(res.closedAt).toBe(c.closes[0]!.at);
      expect(res.dialAt - res.closedAt).toBeGreaterThanOrEqual(1_000);
      expect(res.upgradeAt).toBeGreaterThanOrEqual(res.dialAt);
      expect(res.firstFrameAt).toBeGreaterThanOrEqual(res.upgradeAt);
      expect(c.open).toBe(true);
    });
  });

  it("records a killed gateway's clients coming back with a new hello, without the post of their time away, after a refused dial", async () => {
    // Gateway 1 holds the even clients; they dial it first again, are refused, then go to gateway 2.
    const onKilled = (i: number) => i % 2 === 0;
    const r0 = await load.report();
    stack.gateways[1]!.signal("SIGKILL");
    await waitFor(async () => (await load.report()).conns.every((c, i) => !onKilled(i) || c.closes.length === 2), { timeoutMs: 10_000, what: "the closes" });
    const away = await postInto(pop.everyone.id, 1);
    // Back = the first frame on the new socket: its hello, once the claim found no holder.
    await waitFor(async () => (await load.count()).back >= 20, { timeoutMs: 20_000, what: "every killed client back" });
    const later = await postInto(pop.everyone.id, 1);
    await waitFor(async () => postsOf(await load.report()).every((p) => p.includes(later[0]!)), { timeoutMs: 15_000, what: "the later post everywhere" });
    const r = await load.report();
    const got = postsOf(r);
    r.conns.forEach((c, i) => {
      const had = r0.conns[i]!.posts.length;
      if (onKilled(i)) {
        expect(got[i]!.slice(had)).toEqual(later);
        expect(c.hellos).toBe(2);
        expect(c.connectionIds).toHaveLength(2);
        expect(c.closes.at(-1)!.code).toBe(1006);
        expect(c.resumes.at(-1)!.hello).toBe(true);
        expect(c.resumes.at(-1)!.port).toBe(ports[2]);
        expect(c.dialFailures).toBeGreaterThanOrEqual(1);
      } else {
        expect(got[i]!.slice(had)).toEqual([...away, ...later]);
        expect(c.hellos).toBe(1);
        expect(c.closes).toHaveLength(1);
      }
      expect(c.seqErrors).toBe(0);
    });
  });
});
