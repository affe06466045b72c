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
