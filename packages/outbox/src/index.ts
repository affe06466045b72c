export {
  outboxMigration,
  outboxChannelSeqMigration,
  outboxRowsSql,
  pushOutboxParams,
  writeOutbox,
  type OutboxEntry,
  type WriteOutboxOptions,
} from "./outbox-table.js";
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from "./outbox-relay.js";
export { outboxEventLogMigration, committedChannelEvents, MAX_COMMITTED_EVENTS } from "./event-log.js";
