/**
 * The event log: outbox rows kept after the stream acknowledged them, for a retention period.
 *
 * JetStream can lose acknowledged writes (a power cut before its periodic flush; Debian's
 * nats-server 2.9 has no sync setting at all), so the stream is not the only copy an edge can
 * repair a gap from. The relay moves each acknowledged row here in the statement that used to
 * delete it, and prunes rows older than the retention. Kept in a table of its own, not marked
 * in `outbox`: the relay's hot scan stays over the few unpublished rows, and pruning never
 * touches the table writers insert into.
 *
 * Rows are the bytes the relay published, minus `channel_seq`, which the relay appends at
 * publish time (withChannelSeq): committedChannelEvents appends it the same way, so a reader
 * gets each envelope exactly as the stream had it (same event id, so edges dedupe the copies).
 */
import type { Migration, Queryable } from "@switchboard/db";
import { withChannelSeq } from "./channel-seq-append.js";

/** The event log table, for a service's migration list (after outboxChannelSeqMigration). */
export function outboxEventLogMigration(id: string): Migration {
  return {
    id,
    sql: `
      CREATE TABLE outbox_published (
        id           bigint PRIMARY KEY,
        event_id     text   NOT NULL,
        subject      text   NOT NULL,
        payload      bytea  NOT NULL,
        channel_seq  bigint,
        published_at bigint NOT NULL
      );
      CREATE INDEX outbox_published_subject_seq ON outbox_published (subject, channel_seq) WHERE channel_seq IS NOT NULL;
      CREATE INDEX outbox_published_at ON outbox_published (published_at);
    `,
  };
}

/** Moves acknowledged rows from the outbox into the event log (one statement). */
export const MOVE_TO_EVENT_LOG_SQL =
  "WITH moved AS (DELETE FROM outbox WHERE id = ANY($1::bigint[]) RETURNING id, event_id, subject, payload, channel_seq)" +
  " INSERT INTO outbox_published (id, event_id, subject, payload, channel_seq, published_at)" +
  " SELECT id, event_id, subject, payload, channel_seq, $2::bigint FROM moved ON CONFLICT (id) DO NOTHING";

/** Prunes at most `limit` rows published before `before` (Unix ms); returns how many. */
export async function pruneEventLog(q: Queryable, before: number, limit: number): Promise<number> {
  const r = await q.query(
    "DELETE FROM outbox_published WHERE id IN (SELECT id FROM outbox_published WHERE published_at < $1::bigint ORDER BY id LIMIT $2::int)",
    [before, limit],
  );
  return r.rowCount;
}

/** The most rows one read returns: a gap longer than this is not repaired row by row. */
export const MAX_COMMITTED_EVENTS = 1_000;

/**
 * The committed events on `subject` with after < channel_seq <= upTo, in commit order, each
 * the envelope as published. Rows still in the outbox count too: a later event of the
 * channel can be published (and seen) while the move of an earlier one is still to come.
 */
export async function committedChannelEvents(q: Queryable, subject: string, after: bigint, upTo: bigint): Promise<Uint8Array[]> {
  const { rows } = await q.query<{ id: string; payload: Uint8Array; channel_seq: string }>(
    `SELECT id, payload, channel_seq FROM (
       SELECT id, payload, channel_seq FROM outbox_published WHERE subject = $1 AND channel_seq > $2::bigint AND channel_seq <= $3::bigint
       UNION ALL
       SELECT id, payload, channel_seq FROM outbox WHERE subject = $1 AND channel_seq > $2::bigint AND channel_seq <= $3::bigint
     ) r ORDER BY id LIMIT $4::int`,
    [subject, after.toString(), upTo.toString(), MAX_COMMITTED_EVENTS],
  );
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const r of rows) {
    // A row moved between the two reads of the UNION shows twice.
    if (seen.has(String(r.id))) continue;
    seen.add(String(r.id));
    out.push(withChannelSeq(r.payload, Number(r.channel_seq)));
  }
  return out;
}
