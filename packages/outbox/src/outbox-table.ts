import type { Event } from "@switchboard/proto/events";
import { encodeEvent } from "@switchboard/bus";
import type { Migration, Queryable } from "@switchboard/db";

/** The outbox table, for a service's migration list. */
export function outboxMigration(id: string): Migration {
  return {
    id,
    sql: `
      CREATE TABLE outbox (
        id            bigserial PRIMARY KEY,
        event_id      text   NOT NULL,
        subject       text   NOT NULL,
        partition_key text   NOT NULL,
        payload       bytea  NOT NULL,
        created_at    bigint NOT NULL
      );
    `,
  };
}

/**
 * Adds `channel_seq`: the position of the event's change in its channel's stream. Writers
 * store it here, never in the encoded event (a writer may learn it only inside the statement
 * that writes the row); the relay appends it to the payload as field 9 of the envelope before
 * publishing (a later occurrence of a protobuf scalar field overrides an earlier one, so this
 * is a plain byte append).
 */
export function outboxChannelSeqMigration(id: string): Migration {
  return { id, sql: "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS channel_seq bigint;" };
}

/** The outbox's columns, in the order of outboxRowsSql's values. */
const OUTBOX_COLUMNS = "event_id, subject, partition_key, payload, created_at, channel_seq";

export interface OutboxEntry {
  readonly subject: string;
  /**
   * Events of one partition are published in the order their rows were inserted. For that
   * order to be the commit order, writers must serialize per partition inside their
   * transaction (e.g. lock the channel row) before calling writeOutbox.
   */
  readonly partitionKey: string;
  readonly event: Event;
  /** The change's number in its channel's stream, published as the envelope's channel_seq; none outside a channel's stream. */
  readonly channelSeq?: bigint | undefined;
}

export interface WriteOutboxOptions {
  /**
   * NOTIFY the relay's LISTEN connection at commit (default true). PostgreSQL serializes the
   * commits of notifying transactions (one WAL flush each, no group commit), so a writer that
   * wakes the relay another way (in-process, or a message to the leader) can turn it off;
   * the relay also polls.
   */
  readonly notify?: boolean;
}

/** Parameters per outbox row in outboxRowsSql. */
const PARAMS_PER_ROW = 6;

/**
 * `INSERT INTO outbox ...` of `count` rows whose values are parameters $first.. (appended by
 * pushOutboxParams), for a statement of its own or a data-modifying WITH of a writer's
 * statement. `channelSeq`, a SQL expression, replaces every row's own channel_seq (a writer
 * that takes the number in the same statement, e.g. `upd.seq` with `from: "upd"`); `from`
 * joins the rows to the writer's CTE (no row of it, no event).
 * Its text depends only on its arguments, so writers can cache it.
 */
export function outboxRowsSql(count: number, first: number, o: { channelSeq?: string; from?: string } = {}): string {
  const values: string[] = [];
  for (let i = 0, n = first; i < count; i++, n += PARAMS_PER_ROW) {
    values.push(`($${n}::text, $${n + 1}::text, $${n + 2}::text, $${n + 3}::bytea, $${n + 4}::bigint, $${n + 5}::bigint)`);
  }
  return (
    `INSERT INTO outbox (${OUTBOX_COLUMNS}) SELECT v.event_id, v.subject, v.partition_key, v.payload, v.created_at, ${o.channelSeq ?? "v.channel_seq"}` +
    ` FROM (VALUES ${values.join(", ")}) AS v (${OUTBOX_COLUMNS})${o.from ? `, ${o.from}` : ""}`
  );
}

/** Appends the parameters of outboxRowsSql's rows for `entries` to `params`. */
export function pushOutboxParams(params: unknown[], entries: readonly OutboxEntry[], now: number): void {
  for (const e of entries) {
    params.push(e.event.id, e.subject, e.partitionKey, encodeEvent(e.event), now, e.channelSeq === undefined ? null : e.channelSeq.toString());
  }
}

/**
 * Writes events inside the caller's transaction and, unless told not to, wakes the relay when
 * it commits. One statement (one round trip); prepared, since its text depends only on the
 * number of entries.
 */
export async function writeOutbox(q: Queryable, schema: string, entries: readonly OutboxEntry[], opts: WriteOutboxOptions = {}): Promise<void> {
  if (entries.length === 0) return;
  const params: unknown[] = [];
  pushOutboxParams(params, entries, Date.now());
  const insert = outboxRowsSql(entries.length, 1);
  if (opts.notify === false) {
    await q.query(insert, params, { prepare: true });
    return;
  }
  // A data-modifying WITH runs whether or not the outer SELECT reads it.
  params.push(notifyChannel(schema));
  await q.query(`WITH inserted AS (${insert}) SELECT pg_notify($${params.length}, '')`, params, { prepare: true });
}

export function notifyChannel(schema: string): string {
  return `sb_outbox_${schema}`;
}
