import { describe, expect, it } from "vitest";
import { silentLogger } from "@switchboard/log";
import { newEvent, newId } from "@switchboard/model";
import type { Event } from "@switchboard/proto/events";
import { subjects } from "@switchboard/bus";
import { waitFor } from "@switchboard/testkit";
import { ChannelBackfill, type ChannelBackfillOptions } from "./channel-backfill.js";

const CH = newId();
const SUBJECT = subjects.channel(CH);

function ev(seq: number, name = "posted"): Event {
  return newEvent({ event: name, data: { seq }, broadcast: { channelId: CH }, channelSeq: BigInt(seq) });
}

/** A back-fill whose processed events are recorded (with the sequence check the hub applies). */
function setup(o: Partial<ChannelBackfillOptions> = {}) {
  const delivered: Event[] = [];
  const resynced: string[] = [];
  const recovered = { stream: 0, database: 0 };
  let bf: ChannelBackfill;
  const seen = new Set<string>();
  const process = (e: Event): void => {
    if (seen.has(e.id)) return;
    if (bf.check(CH, SUBJECT, e) !== "deliver") return;
    seen.add(e.id);
    delivered.push(e);
  };
  bf = new ChannelBackfill({
    log: silentLogger,
    stream: async () => [],
    committed: async () => [],
    heads: async () => [],
    verifyAfterMs: 60_000,
    replayEphemeral: async () => undefined,
    process,
    routed: () => true,
    resync: (c) => resynced.push(c),
    repairTimeoutMs: 2_000,
    onRecovered: (source, n) => (recovered[source] += n),
    onGap: () => undefined,
    onUnrepaired: () => undefined,
    ...o,
  });
  /** A live event, as the hub routes it. */
  const live = (e: Event): void => {
    if (!bf.hold(SUBJECT, e)) process(e);
  };
  return { bf, live, delivered, resynced, recovered, seqs: () => delivered.map((e) => Number(e.channelSeq)) };
}

describe("a hole in a channel's sequence", () => {
  it("is filled from the stream, in order, before the held events; copies of one change both pass", async () => {
    const stored = [ev(1), ev(2), ev(3), ev(3, "post_deleted"), ev(4)];
    const t = setup({ stream: async () => stored });
    t.live(stored[0]!);
    t.live(stored[1]!);
    t.live(stored[4]!); // 3 lost live: held, repair starts
    t.live(ev(5));
    await waitFor(() => t.delivered.length === 6, { what: "repair" });
    expect(t.seqs()).toEqual([1, 2, 3, 3, 4, 5]);
    expect(t.resynced).toEqual([]);
    expect(t.recovered.stream).toBe(3);
  });

  it("takes what the stream lacks from the database, and only that", async () => {
    const all = [ev(1), ev(2), ev(3), ev(4)];
    const asked: [bigint, bigint][] = [];
    const t = setup({
      stream: async () => [all[0]!, all[3]!],
      committed: async (_c, after, upTo) => {
        asked.push([after, upTo]);
        return all.filter((e) => e.channelSeq > after && e.channelSeq <= upTo);
      },
    });
    t.live(all[0]!);
    t.live(all[3]!);
    await waitFor(() => t.delivered.length === 4, { what: "repair" });
    expect(t.seqs()).toEqual([1, 2, 3, 4]);
    expect(asked).toEqual([[1n, 3n]]);
    expect(t.recovered).toEqual({ stream: 1, database: 2 });
  });

  it("that no source fills resyncs the channel's connections, then goes on", async () => {
    const t = setup();
    t.live(ev(1));
    t.live(ev(3));
    await waitFor(() => t.resynced.length === 1, { what: "resync" });
    expect(t.resynced).toEqual([CH]);
    expect(t.seqs()).toEqual([1, 3]);
    t.live(ev(4));
    expect(t.seqs()).toEqual([1, 3, 4]);
  });

  it("whose repair outlives its deadline resyncs instead of waiting", async () => {
    const t = setup({ stream: () => new Promise(() => undefined), repairTimeoutMs: 100 });
    t.live(ev(1));
    t.live(ev(3));
    t.live(ev(4));
    await waitFor(() => t.resynced.length === 1, { what: "resync" });
    expect(t.seqs()).toEqual([1, 3, 4]);
  });

  it("a channel behind its committed head (its last changes lost, nothing after them) is repaired up to the head", async () => {
    const all = [ev(1), ev(2), ev(3), ev(4)];
    const t = setup({ stream: async () => [all[2]!], committed: async (_c, after, upTo) => all.filter((e) => e.channelSeq > after && e.channelSeq <= upTo) });
    t.live(all[0]!);
    t.live(all[1]!);
    expect(t.bf.channels()).toEqual([CH]);
    expect(t.bf.verifyHeads([{ channelId: CH, seq: 2n }])).toBe(0);
    expect(t.bf.verifyHeads([{ channelId: CH, seq: 4n }])).toBe(1);
    await waitFor(() => t.delivered.length === 4, { what: "repair" });
    expect(t.seqs()).toEqual([1, 2, 3, 4]);
    expect(t.recovered).toEqual({ stream: 1, database: 1 });
  });

  it("drops older changes; a new subscription reads back what followed its change", async () => {
    const e8 = ev(8);
    const t = setup({ stream: async () => [ev(6), ev(7), e8] });
    t.bf.start(SUBJECT, CH, ev(7, "user_added"));
    t.live(e8);
    t.live(ev(9));
    await waitFor(() => t.delivered.length === 2, { what: "back-fill" });
    expect(t.seqs()).toEqual([8, 9]);
    t.live(ev(5));
    expect(t.seqs()).toEqual([8, 9]);
  });

  it("a new subscription repairs up to the channel's committed head: the last change, not yet in the stream when read, comes from the database", async () => {
    const e8 = ev(8);
    const asked: [bigint, bigint][] = [];
    const t = setup({
      stream: async () => [ev(7, "user_added")],
      heads: async () => [{ channelId: CH, seq: 8n }],
      committed: async (_c, after, upTo) => {
        asked.push([after, upTo]);
        return [e8].filter((e) => e.channelSeq > after && e.channelSeq <= upTo);
      },
    });
    t.bf.start(SUBJECT, CH, ev(7, "user_added"));
    await waitFor(() => t.delivered.length === 1, { what: "back-fill" });
    expect(t.seqs()).toEqual([8]);
    expect(asked).toEqual([[7n, 8n]]);
    expect(t.recovered).toEqual({ stream: 0, database: 1 });
    expect(t.resynced).toEqual([]);
  });

  it("a new subscription's channel head is read again later: a change the subscription missed live (interest not yet across the NATS cluster) is delivered then", async () => {
    const e8 = ev(8);
    let head = 7n;
    const t = setup({
      stream: async () => [],
      heads: async () => [{ channelId: CH, seq: head }],
      committed: async (_c, after, upTo) => [e8].filter((e) => e.channelSeq > after && e.channelSeq <= upTo),
      verifyAfterMs: 50,
    });
    t.bf.start(SUBJECT, CH, ev(7, "user_added"));
    head = 8n; // 8 committed after the first read, published before the interest spread: never arrives live
    await waitFor(() => t.delivered.length === 1, { what: "the later head check" });
    expect(t.seqs()).toEqual([8]);
    expect(t.recovered.database).toBe(1);
    t.bf.close();
  });
});

describe("a member's removal on their own subject", () => {
  it("waits behind the channel's earlier changes not seen yet, which are delivered first", async () => {
    const stored = [ev(6), ev(7)];
    const t = setup({ stream: async () => stored });
    t.live(ev(5));
    const removal = ev(8, "user_removed");
    expect(t.bf.holdRemoval(SUBJECT, CH, ev(6, "user_removed"))).toBe(false); // nothing precedes it unseen
    expect(t.bf.holdRemoval(SUBJECT, CH, removal)).toBe(true);
    await waitFor(() => t.delivered.length === 4, { what: "repair" });
    expect(t.seqs()).toEqual([5, 6, 7, 8]);
    expect(t.delivered[3]).toBe(removal);
  });
});
