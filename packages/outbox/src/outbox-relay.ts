/**
 * The outbox relay: publishes committed outbox rows to JetStream with Nats-Msg-Id = event id
 * and deletes a row (or moves it to the event log, event-log.ts) only after the stream
 * acknowledged it.
 *
 * - One relay per database is active (a session advisory lock); replicas stand by and take
 *   over when the leader's session ends, so no row is skipped and per-partition order holds.
 * - Rows are read in id order; rows of one partition are published one after another, each
 *   after the previous ack; different partitions go in parallel.
 * - A crash anywhere means a re-publish of rows not yet deleted, which the stream drops as
 *   duplicates (within its duplicate window): each event is stored exactly once.
 *
 * Waking up. The target is a few milliseconds from commit to publish for an idle relay (the
 * relay's share of delivery; docs/reliability.md asks relay lag p99 <= 1 s at worst). Three
 * wake paths exist; a service keeps the fewest that meet it:
 * - poke(): a writer in the leader's process wakes it directly; a writer in another replica
 *   must reach the leader another way (the posts service sends one core NATS message that the
 *   leader listens for, its relay doorbell);
 * - LISTEN/NOTIFY (`listen`, and writeOutbox's `notify`): reaches the leader from any replica
 *   through PostgreSQL, but PostgreSQL commits notifying transactions one at a time (no group
 *   commit), and the LISTEN holds a connection of its own per replica;
 * - the poll (pollIntervalMs, 500 ms): the safety net for a lost wake-up (a leader elected
 *   while a wake-up was in flight, a NATS message lost); alone it means ~0.5 s per event.
 * Measured on a 2-vCPU machine shared with other work, commit to publish with an idle relay,
 * 60 writes each, p50 / p90 / p99 in ms:
 *                                     PGlite (one process)    PostgreSQL, writer on the leader   PostgreSQL, writer on another replica
 *   poll only                         470 / 484 / 501         471 / 489 / 537                    474 / 495 / 515
 *   LISTEN/NOTIFY only                1.7 / 7.3 / 50          2.4 / 9.3 / 55                     2.8 / 21 / 102
 *   poke / NATS doorbell only         1.3 / 5.9 / 19          2.6 / 7.7 / 22                     1.4 / 3.4 / 37
 *   doorbell + LISTEN/NOTIFY          1.2 / 3.8 / 7.2         2.6 / 8.0 / 15                     1.1 / 2.1 / 3.4
 * (The tails are the shared machine's; a second path only races the first.) The doorbell
 * alone meets the target for writers in any replica and on both databases, without NOTIFY's
 * serialized commits, so the posts service relays with poke + NATS doorbell + poll and no
 * LISTEN (listen: false). A service whose writers NOTIFY (accounts, through writeOutbox's
 * default) keeps the LISTEN: it is how its other replicas reach the leader.
 */
import { publishDurable, type Bus } from "@switchboard/bus";
import type { Db, Queryable } from "@switchboard/db";
import { noFailpoints, type Component, type Failpoints } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import type { MetricsRegistry } from "@switchboard/metrics";
import { withChannelSeq } from "./channel-seq-append.js";
import { MOVE_TO_EVENT_LOG_SQL, pruneEventLog } from "./event-log.js";
import { notifyChannel } from "./outbox-table.js";

export interface OutboxRelayOptions {
  readonly db: Db;
  readonly bus: Bus;
  /** The schema holding the outbox table (also names the advisory lock and NOTIFY channel). */
  readonly schema: string;
  readonly log: Logger;
  readonly metrics?: MetricsRegistry;
  readonly batchSize?: number;
  /** Poll interval when idle, and standby retry interval. */
  readonly pollIntervalMs?: number;
  readonly publishTimeoutMs?: number;
  /** Partitions published concurrently. */
  readonly concurrency?: number;
  /**
   * After a pass that emptied the outbox, wait this long before the next one even if poked:
   * under load, rows committed meanwhile are read and deleted together (fewer statements per
   * event); an idle relay still wakes at once for the first commit. Default 5 ms.
   */
  readonly coalesceMs?: number;
  /** LISTEN for writeOutbox's NOTIFY (default true); off for a service whose writers wake the relay otherwise (see "Waking up" above). */
  readonly listen?: boolean;
  /**
   * Keep acknowledged rows in the event log (event-log.ts, outboxEventLogMigration) this long
   * instead of deleting them: the source an edge repairs from when the stream lost an event.
   * Unset: rows are deleted once acknowledged.
   */
  readonly eventLogRetentionMs?: number;
  readonly failpoints?: Failpoints;
}

export interface OutboxRelay extends Component {
  /** True while this process holds the relay lock. */
  readonly leader: boolean;
  /** Wakes the relay now (after a local commit). */
  poke(): void;
  /** Resolves once the outbox is empty (tests, graceful drain). */
  drained(timeoutMs: number): Promise<boolean>;
}

interface Row {
  id: number;
  event_id: string;
  subject: string;
  partition_key: string;
  payload: Uint8Array;
  created_at: number;
  channel_seq: number | null;
}

const PRUNE_INTERVAL_MS = 60_000;
const PRUNE_BATCH = 5_000;

export function createOutboxRelay(o: OutboxRelayOptions): OutboxRelay {
  const batchSize = o.batchSize ?? 500;
  const pollMs = o.pollIntervalMs ?? 500;
  const concurrency = o.concurrency ?? 64;
  const coalesceMs = o.coalesceMs ?? 5;
  const fp = o.failpoints ?? noFailpoints;
  const log = o.log.child({ part: "outbox-relay" });
  const lockKey = `sb_outbox_relay_${o.schema}`;

  const published = o.metrics?.counter({ name: "sb_outbox_published_total", help: "Outbox events acknowledged by the stream" });
  const duplicates = o.metrics?.counter({
    name: "sb_outbox_duplicates_total",
    help: "Outbox events the stream already held (a re-publish after a crash), dropped by the stream",
  });
  const errors = o.metrics?.counter({ name: "sb_outbox_publish_errors_total", help: "Outbox publishes that failed and will be retried" });
  const lag = o.metrics?.histogram({
    name: "sb_outbox_lag_seconds",
    help: "Time from commit to stream ack",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  const leaderGauge = o.metrics?.gauge({ name: "sb_outbox_leader", help: "1 while this process relays the outbox" });

  let running = false;
  let leader = false;
  let wake: (() => void) | undefined;
  let woken = false;
  let loop: Promise<void> | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  const poke = (): void => {
    woken = true;
    wake?.();
  };
  const idle = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (woken || !running) {
        woken = false;
        resolve();
        return;
      }
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        wake = undefined;
        woken = false;
        resolve();
      }
      wake = done;
    });

  async function publishPartition(rows: Row[]): Promise<number[]> {
    const acked: number[] = [];
    for (const r of rows) {
      try {
        const payload = r.channel_seq === null ? r.payload : withChannelSeq(r.payload, Number(r.channel_seq));
        const ack = await publishDurable(o.bus, r.subject, payload, { msgId: r.event_id, timeoutMs: o.publishTimeoutMs ?? 5_000 });
        acked.push(r.id);
        if (ack.duplicate) {
          duplicates?.inc();
          log.info({ event_id: r.event_id, stream_seq: ack.seq }, "duplicate publish dropped by the stream");
        } else {
          published?.inc();
        }
        lag?.observe(Math.max(0, Date.now() - Number(r.created_at)) / 1000);
      } catch (e: unknown) {
        // Stop this partition here: publishing its later rows now would break its order.
        errors?.inc();
        log.warn({ err: e, partition: r.partition_key }, "publish failed, will retry");
        break;
      }
    }
    return acked;
  }

  /** One pass: read a batch, publish it, delete what was acked. Returns rows handled. */
  async function pass(q: Queryable): Promise<{ read: number; acked: number }> {
    const { rows } = await q.query<Row>("SELECT id, event_id, subject, partition_key, payload, created_at, channel_seq FROM outbox ORDER BY id LIMIT $1", [
      batchSize,
    ]);
    if (rows.length === 0) return { read: 0, acked: 0 };
    const partitions = new Map<string, Row[]>();
    for (const r of rows) {
      const list = partitions.get(r.partition_key);
      if (list) list.push(r);
      else partitions.set(r.partition_key, [r]);
    }
    const queue = [...partitions.values()];
    const acked: number[] = [];
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let p = queue.shift(); p; p = queue.shift()) acked.push(...(await publishPartition(p)));
      }),
    );
    if (acked.length > 0) {
      fp.hit("outbox.after_ack_before_delete");
      if (o.eventLogRetentionMs === undefined) await q.query("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [acked]);
      else await q.query(MOVE_TO_EVENT_LOG_SQL, [acked, Date.now()]);
    }
    return { read: rows.length, acked: acked.length };
  }

  /** Prunes the event log about once a minute (the leader only), a bounded batch at a time. */
  let prunedAt = 0;
  async function prune(q: Queryable): Promise<void> {
    if (o.eventLogRetentionMs === undefined || Date.now() - prunedAt < PRUNE_INTERVAL_MS) return;
    prunedAt = Date.now();
    const before = Date.now() - o.eventLogRetentionMs;
    while (running && (await pruneEventLog(q, before, PRUNE_BATCH)) === PRUNE_BATCH);
  }

  async function lead(session: Queryable): Promise<void> {
    let failures = 0;
    while (running) {
      await prune(session);
      const { read, acked } = await pass(session);
      if (read === 0) {
        failures = 0;
        await idle(pollMs);
      } else if (acked < read) {
        // Some partition is stuck (NATS down or slow): back off, bounded.
        failures++;
        await idle(Math.min(pollMs * 2 ** Math.min(failures, 4), 5_000));
      } else {
        failures = 0;
        if (read < batchSize && coalesceMs > 0) await new Promise((r) => setTimeout(r, coalesceMs));
      }
    }
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        await o.db.session(async (s) => {
          const got = (await s.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [lockKey])).rows[0]?.ok;
          if (!got) return;
          leader = true;
          leaderGauge?.set(1);
          log.info({}, "relaying the outbox");
          try {
            await lead(s);
          } finally {
            leader = false;
            leaderGauge?.set(0);
            await s.query("SELECT pg_advisory_unlock(hashtext($1))", [lockKey]).catch(() => undefined);
          }
        });
      } catch (e: unknown) {
        leader = false;
        leaderGauge?.set(0);
        log.warn({ err: e }, "outbox relay pass failed");
      }
      if (running) await idle(pollMs);
    }
  }

  return {
    name: "outbox-relay",
    get leader() {
      return leader;
    },
    poke,
    async start() {
      running = true;
      if (o.listen !== false) {
        try {
          unlisten = await o.db.listen(notifyChannel(o.schema), poke);
        } catch (e: unknown) {
          log.warn({ err: e }, "LISTEN failed; relying on polling");
        }
      }
      loop = run();
    },
    async stop() {
      if (!running) return;
      running = false;
      poke();
      await loop;
      await unlisten?.();
    },
    async drained(timeoutMs) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const n = (await o.db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox")).rows[0]?.n ?? 0;
        if (n === 0) return true;
        if (Date.now() > end) return false;
        poke();
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
