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
 * Adds `channel_seq`: a writer that learns the channel sequence only inside its statement
 * (a single-statement change) leaves it out of the encoded event and stores it here; the relay
 * appends it to the payload as field 9 of the envelope before publishing (a later occurrence
 * of a protobuf scalar field overrides an earlier one, so this is a plain byte append).
 */
export function outboxChannelSeqMigration(id: string): Migration {
  return { id, sql: "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS channel_seq bigint;" };
}

/** The outbox's columns, for writers that insert from their own statement. */
export const OUTBOX_INSERT_COLUMNS = "event_id, subject, partition_key, payload, created_at, channel_seq";

export interface OutboxEntry {
  readonly subject: string;
  /**
   * Events of one partition are published in the order their rows were inserted. For that
   * order to be the commit order, writers must serialize per partition inside their
   * transaction (e.g. lock the channel row) before calling writeOutbox.
   */
  readonly partitionKey: string;
  readonly event: Event;
}

export interface WriteOutboxOptions {
  /**
   * NOTIFY the relay's LISTEN connection at commit (default true). PostgreSQL serializes the
   * commits of notifying transactions (one WAL flush each, no group commit), so a writer that
   * wakes the relay another way (in-process, or a message to the leader) can turn it off;
   * the relay also polls.
   */
  readonly notify?: boolean;
  /**
   * Write the events only if this data-modifying statement (e.g. `INSERT ... ON CONFLICT DO
   * NOTHING RETURNING ...`, with parameters $1..$n) returns a row; it runs in the same
   * statement, so the change and its events cost one round trip. writeOutbox then returns
   * its rows (none: nothing changed and no event was written).
   */
  readonly onlyIf?: { readonly sql: string; readonly params: readonly unknown[] };
}

const OUTBOX_COLUMNS = "event_id, subject, partition_key, payload, created_at";

/**
 * Writes events inside the caller's transaction and, unless told not to, wakes the relay when
 * it commits. One statement (one round trip) in every case; prepared, since its text depends
 * only on the number of entries (and the guard).
 */
export async function writeOutbox(
  q: Queryable,
  schema: string,
  entries: readonly OutboxEntry[],
  opts: WriteOutboxOptions = {},
): Promise<Record<string, unknown>[]> {
  const guard = opts.onlyIf;
  if (entries.length === 0 && !guard) return [];
  const params: unknown[] = guard ? [...guard.params] : [];
  const now = Date.now();
  const values = entries.map((e) => {
    const n = params.length;
    params.push(e.event.id, e.subject, e.partitionKey, encodeEvent(e.event), now);
    return `($${n + 1}::text, $${n + 2}::text, $${n + 3}::text, $${n + 4}::bytea, $${n + 5}::bigint)`;
  });
  const notify = opts.notify !== false && entries.length > 0;
  if (!guard) {
    const insert = `INSERT INTO outbox (${OUTBOX_COLUMNS}) VALUES ${values.join(", ")}`;
    if (!notify) {
      await q.query(insert, params, { prepare: true });
      return [];
    }
    // A data-modifying WITH runs whether or not the outer SELECT reads it.
    params.push(notifyChannel(schema));
    await q.query(`WITH inserted AS (${insert}) SELECT pg_notify($${params.length}, '')`, params, { prepare: true });
    return [];
  }
  let sql = `WITH guard AS (${guard.sql})`;
  if (entries.length > 0) {
    sql += `, written AS (INSERT INTO outbox (${OUTBOX_COLUMNS}) SELECT * FROM (VALUES ${values.join(", ")}) AS v WHERE EXISTS (SELECT 1 FROM guard))`;
  }
  if (notify) params.push(notifyChannel(schema));
  sql += notify ? ` SELECT guard.*, pg_notify($${params.length}, '') AS sb_outbox_notify FROM guard` : " SELECT * FROM guard";
  const { rows } = await q.query<Record<string, unknown>>(sql, params, { prepare: true });
  if (notify) for (const r of rows) delete r.sb_outbox_notify;
  return rows;
}

export function notifyChannel(schema: string): string {
  return `sb_outbox_${schema}`;
}
