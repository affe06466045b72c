/**
 * The completeness check end to end: the real load client (its own process, raw sockets)
 * against a real uWebSockets.js server publishing a burst of `posted` frames from this
 * process. A burst that arrives whole makes a row with figures; a load client made to drop
 * one delivery, to swap two, or to receive one twice, makes a failed row with no figures,
 * although in the swap the count of deliveries is right.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "@switchboard/model";
import { waitFor } from "@switchboard/testkit";
// The built modules: the pool forks the built load-client.js next to it.
import { runBurst } from "../dist/burst.js";
import { verdict } from "../dist/completeness.js";
import { startUwsPublisher, type UwsPublisher } from "../dist/raw/uws-publisher.js";
import { startLoadClient, type BurstFault, type LoadClient } from "../dist/ws-load/load-client-pool.js";

const CONNECTIONS = 40;
const POSTS = 25;

let server: UwsPublisher;
let client: LoadClient;

/** A `posted` frame shaped as the gateway's: the post, a JSON string, its id first. */
const frame = (id: string, i: number) =>
  new TextEncoder().encode(JSON.stringify({ event: "posted", data: { post: JSON.stringify({ id, message: `burst ${String(i)}` }) }, seq: 0 }));

/** With `shuffled`, the server publishes the burst in another order than `ids` lists it (as concurrent REST creates commit). */
const burst = (label: string, fault?: BurstFault, o: { shuffled?: boolean; order?: "publish" | "agreed" } = {}) => {
  const ids = Array.from({ length: POSTS }, () => newId());
  // Each adjacent pair the other way round: every post but the last is published out of send order.
  const published = o.shuffled ? ids.map((_, i) => ids[i % 2 === 0 ? Math.min(i + 1, ids.length - 1) : i - 1]!) : ids;
  const frames = published.map(frame);
  return runBurst({
    ...(o.order ? { order: o.order } : {}),
    client,
    ids,
    connections: CONNECTIONS,
    fire: () => frames.forEach((f) => server.publish(f)),
    pid: process.pid,
    label,
    subject: "raw uWS.js",
    peer: true,
    quietMs: 500,
    timeoutMs: 20_000,
    ...(fault ? { fault } : {}),
  });
};

beforeAll(async () => {
  server = await startUwsPublisher();
  client = await startLoadClient();
  await client.open({ host: "127.0.0.1", port: server.port, path: "/", headers: Array.from({ length: CONNECTIONS }, () => ({})) });
});

afterAll(async () => {
  await client?.close();
  server?.close();
});

describe("completeness check", () => {
  it("reports a whole burst as a row with its figures", async () => {
    const r = await burst("whole");
    expect(r.verdict).toMatchObject({ complete: true, missing: 0, duplicates: 0, outOfOrder: 0, unexpected: 0, expected: CONNECTIONS * POSTS });
    expect(r.row.failed).toBeUndefined();
    expect(r.row.values.deliveries).toBe(CONNECTIONS * POSTS);
    expect(r.completionMs).toHaveLength(CONNECTIONS);
  });

  it("fails the row of a load client that dropped one delivery", async () => {
    const r = await burst("dropped", { kind: "drop", connection: 7, at: 12 });
    expect(r.verdict).toMatchObject({ complete: false, missing: 1, duplicates: 0, outOfOrder: 0 });
    expect(r.row.failed).toMatch(/^incomplete deliveries: 1 missing on 1 of 40 connections \(e\.g\. #7: 1 missing/);
    expect(r.row.values).toEqual({});
  });

  it("fails the row of a load client that swapped two deliveries, though the count is right", async () => {
    const r = await burst("swapped", { kind: "swap", connection: 3, at: 5 });
    expect(r.deliveries).toBe(CONNECTIONS * POSTS);
    expect(r.verdict).toMatchObject({ complete: false, missing: 0, duplicates: 0, outOfOrder: 1 });
    expect(r.row.failed).toMatch(/1 out of order on 1 of 40 connections \(e\.g\. #3:/);
    expect(r.row.values).toEqual({});
  });

  it("fails the row of a load client that received one delivery twice", async () => {
    const r = await burst("duplicated", { kind: "duplicate", connection: 39, at: 25 });
    expect(r.deliveries).toBe(CONNECTIONS * POSTS + 1);
    expect(r.verdict).toMatchObject({ complete: false, missing: 0, duplicates: 1, outOfOrder: 0 });
    expect(r.row.failed).toMatch(/1 duplicated on 1 of 40 connections \(e\.g\. #39:/);
    expect(r.row.values).toEqual({});
  });

  it("in the agreed order, passes a burst the server published in its own order, the same on every connection", async () => {
    const r = await burst("server's order", undefined, { shuffled: true, order: "agreed" });
    expect(r.verdict).toMatchObject({ complete: true, outOfOrder: 0, displaced: POSTS - 1 });
    expect(r.row.failed).toBeUndefined();
  });

  it("in the publish order, fails that same burst on every connection", async () => {
    const r = await burst("server's order, judged by send order", undefined, { shuffled: true });
    expect(r.verdict).toMatchObject({ complete: false, missing: 0, outOfOrder: CONNECTIONS * ((POSTS - 1) / 2) });
    expect(r.row.failed).toMatch(/out of order on 40 of 40 connections/);
  });

  it("in the agreed order, fails a load client that swapped two deliveries of that burst on one connection", async () => {
    const r = await burst("server's order, one swapped", { kind: "swap", connection: 11, at: 8 }, { shuffled: true, order: "agreed" });
    expect(r.deliveries).toBe(CONNECTIONS * POSTS);
    expect(r.verdict).toMatchObject({ complete: false, missing: 0, duplicates: 0, outOfOrder: 1 });
    expect(r.row.failed).toMatch(/1 out of the order the other connections got on 1 of 40 connections \(e\.g\. #11:/);
    expect(r.row.values).toEqual({});
  });

  it("is whole again on the next burst", async () => {
    const r = await burst("whole again");
    expect(r.row.failed).toBeUndefined();
  });
});

describe("completeness check, posts spread over channels (groups)", () => {
  const TOPICS = ["channel-a", "channel-b"];
  const PER = 10;
  let spread: LoadClient;

  beforeAll(async () => {
    spread = await startLoadClient();
    // Connection i subscribes TOPICS[i % 2] on the publisher (X-Topic), and is of that group.
    await spread.open({ host: "127.0.0.1", port: server.port, path: "/", headers: Array.from({ length: 2 * PER }, (_, i) => ({ "X-Topic": TOPICS[i % 2]! })) });
  });

  afterAll(async () => {
    await spread?.close();
  });

  /** Posts alternate between the two topics; `leak`: post 3 is also published to the other topic. */
  const spreadBurst = async (leak: boolean) => {
    const ids = Array.from({ length: POSTS }, () => newId());
    const groups = { ofEvent: ids.map((_, i) => i % 2), ofConnection: Array.from({ length: 2 * PER }, (_, i) => i % 2) };
    await spread.expect(ids, undefined, { groups });
    ids.forEach((id, i) => {
      server.publish(frame(id, i), TOPICS[i % 2]);
      if (leak && i === 3) server.publish(frame(id, i), TOPICS[0]);
    });
    const expected = PER * Math.ceil(POSTS / 2) + PER * Math.floor(POSTS / 2) + (leak ? PER : 0);
    await waitFor(async () => (await spread.ledger()).received + (await spread.ledger()).unexpected >= expected, { what: "the spread burst" });
    return verdict(await spread.ledger());
  };

  it("passes every connection with its own channel's posts only", async () => {
    expect(await spreadBurst(false)).toMatchObject({ complete: true, expected: PER * POSTS, missing: 0, unexpected: 0 });
  });

  it("fails a post delivered to the sockets of another channel", async () => {
    const v = await spreadBurst(true);
    expect(v).toMatchObject({ complete: false, missing: 0, unexpected: PER });
    expect(v.reason).toMatch(/10 not of the burst on 10 of 20 connections/);
  });
});
