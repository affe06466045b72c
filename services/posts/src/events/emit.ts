import type { Queryable } from "@switchboard/db";
import { writeOutbox, type OutboxEntry } from "@switchboard/outbox";
import { SCHEMA } from "../migrations.js";

/**
 * Writes a change's events into the outbox, inside the change's own transaction. No NOTIFY:
 * the caller rings the relay doorbell after the commit (relay-doorbell.ts).
 */
export async function emit(q: Queryable, events: readonly OutboxEntry[]): Promise<void> {
  await writeOutbox(q, SCHEMA, events, { notify: false });
}

/**
 * Runs `change` (a data-modifying statement with RETURNING) and writes the events only if it
 * returned a row, in one statement. Returns the change's rows.
 */
export function emitIf<R>(q: Queryable, events: readonly OutboxEntry[], change: { sql: string; params: readonly unknown[] }): Promise<R[]> {
  return writeOutbox(q, SCHEMA, events, { notify: false, onlyIf: change }) as Promise<R[]>;
}
