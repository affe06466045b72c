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

/** Writes events inside the caller's transaction and wakes the relay when it commits. */
export async function writeOutbox(q: Queryable, schema: string, entries: readonly OutboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const params: unknown[] = [];
  const values: string[] = [];
  const now = Date.now();
  for (const e of entries) {
    const n = params.length;
    values.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5})`);
    params.push(e.event.id, e.subject, e.partitionKey, encodeEvent(e.event), now);
  }
  await q.query(`INSERT INTO outbox (event_id, subject, partition_key, payload, created_at) VALUES ${values.join(", ")}`, params);
  await q.query("SELECT pg_notify($1, '')", [notifyChannel(schema)]);
}

export function notifyChannel(schema: string): string {
  return `sb_outbox_${schema}`;
}
