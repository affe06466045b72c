/**
 * One open-loop latency phase of `posted` events: `count` posts go out on the open-loop
 * schedule (open-loop.ts) through `send`, each carrying an id chosen beforehand; the load
 * client times each socket's first arrival of each, and its ledger judges them by id and order
 * (completeness.ts). A phase whose deliveries are incomplete, duplicated or out of order is a
 * failed row with no figures. Used by fanout-latency and slow-consumer.
 */
import { newId } from "@switchboard/model";
import { percentile } from "./closed-loop.js";
import { verdict, type LedgerGroups, type LedgerOrder, type Verdict } from "./completeness.js";
import { deliveryLatencies, openLoop } from "./open-loop.js";
import type { ResultRow, ScenarioContext } from "./scenario.js";
import type { LoadClient } from "./ws-load/load-client-pool.js";

export interface PostedLatencyPhase {
  /** The row's label (the shape) and subject. */
  readonly label: string;
  readonly subject: string;
  readonly peer: boolean;
  readonly client: LoadClient;
  /** Sockets of `client`, each of which must get every post. */
  readonly members: number;
  readonly postsPerS: number;
  readonly count: number;
  /** The ids are pending_post_ids (posts created over REST) rather than post ids. */
  readonly byPendingId: boolean;
  readonly order: LedgerOrder;
  /** Posts into several channels: the channel of each post (by send) and of each socket; a socket must get its channel's posts only. */
  readonly groups?: LedgerGroups;
  /** Sends post i with its id; not awaited by the schedule. */
  readonly send: (i: number, id: string) => Promise<void>;
}

export interface PostedLatency {
  readonly row: ResultRow;
  readonly verdict: Verdict;
  /** Every delivery's latency from its post's scheduled send, ms, ascending. */
  readonly perDelivery: number[];
  readonly p99Ms: number;
}

export async function measurePostedLatency(ctx: ScenarioContext, o: PostedLatencyPhase): Promise<PostedLatency> {
  const ids = Array.from({ length: o.count }, () => newId());
  await o.client.expect(ids, undefined, { timed: true, byPendingId: o.byPendingId, order: o.order, ...(o.groups ? { groups: o.groups } : {}) });
  const before = (await o.client.count()).posted;
  const g = o.groups;
  const perGroup = new Map<number, number>();
  for (const x of g?.ofEvent ?? []) perGroup.set(x, (perGroup.get(x) ?? 0) + 1);
  const expected = g ? g.ofConnection.reduce((a, x) => a + (perGroup.get(x) ?? 0), 0) : o.count * o.members;
  const phase = ctx.phase(`${o.label}, ${o.subject}`, { unit: "deliveries counted", total: expected, deadlineMs: (o.count / o.postsPerS) * 1000 + 10_000 });
  const tick = setInterval(() => void o.client.count().then((c) => phase.update(c.posted - before)), 500);
  const loop = await openLoop({ ratePerS: o.postsPerS, count: o.count, send: (i) => o.send(i, ids[i]!) });
  // Deliveries still in flight: wait until all came, or none for 3 s.
  let got = 0;
  let lastChange = performance.now();
  while (got < expected && performance.now() - lastChange < 3_000) {
    await new Promise((r) => setTimeout(r, 50));
    const n = (await o.client.count()).posted - before;
    if (n !== got) lastChange = performance.now();
    got = n;
  }
  clearInterval(tick);
  phase.end(got);
  await new Promise((r) => setTimeout(r, 200));
  const v = verdict(await o.client.ledger());
  const { perDelivery, lastMemberPerSend } = deliveryLatencies(
    loop.scheduled,
    await o.client.arrivals(),
    o.members,
    g ? (c, i) => g.ofConnection[c] === g.ofEvent[i] : undefined,
  );
  const maxLag = loop.lagMs.reduce((a, b) => Math.max(a, b), 0);
  const values = {
    posts: o.count,
    sockets: o.members,
    deliveries: perDelivery.length,
    p50_ms: percentile(perDelivery, 50),
    p99_ms: percentile(perDelivery, 99),
    p99_9_ms: percentile(perDelivery, 99.9),
    last_member_p99_ms: percentile(lastMemberPerSend, 99),
    sender_max_lag_ms: maxLag,
    server_reordered_posts: v.displaced,
  };
  const row: ResultRow = v.complete
    ? { label: o.label, subject: o.subject, peer: o.peer, values }
    : { label: o.label, subject: o.subject, peer: o.peer, values: {}, failed: v.reason };
  ctx.log(
    row.failed
      ? `${o.label} ${o.subject}: FAILED: ${row.failed}`
      : `${o.label} ${o.subject}: p50 ${values.p50_ms.toFixed(1)} ms, p99 ${values.p99_ms.toFixed(1)} ms, p99.9 ${values.p99_9_ms.toFixed(1)} ms, last member p99 ${values.last_member_p99_ms.toFixed(1)} ms, ${String(v.displaced)} posts placed out of send order by the server`,
  );
  return { row, verdict: v, perDelivery, p99Ms: values.p99_ms };
}
