export { outboxMigration, writeOutbox, type OutboxEntry } from "./outbox-table.js";
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from "./outbox-relay.js";
