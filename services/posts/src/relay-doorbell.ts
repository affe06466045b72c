/**
 * Waking the outbox relay after a commit, without PostgreSQL NOTIFY: PostgreSQL commits
 * notifying transactions one at a time (one WAL flush each), which cost this service a third
 * of its throughput. Only one replica relays (the leader). A commit on the leader pokes it in
 * process; a commit elsewhere sends one core NATS message that the leader listens for. Both
 * are best effort: the relay also polls, so a lost wake-up only delays an event by one poll.
 * The relay does not LISTEN for this service (measured figures in packages/outbox/src/outbox-relay.ts).
 */
import { subjects, type Bus, type BusSubscription } from "@switchboard/bus";
import type { Component } from "@switchboard/lifecycle";
import type { OutboxRelay } from "@switchboard/outbox";

export interface RelayDoorbell extends Component {
  /** After a commit that wrote outbox rows. */
  ring(): void;
}

export function createRelayDoorbell(o: { bus: Bus; relay: OutboxRelay; schema: string }): RelayDoorbell {
  const subject = subjects.outboxWake(o.schema);
  const empty = new Uint8Array(0);
  let sub: BusSubscription | undefined;
  return {
    name: "relay-doorbell",
    ring() {
      if (o.relay.leader) o.relay.poke();
      else o.bus.publish(subject, empty);
    },
    async start() {
      sub = o.bus.subscribe(subject, () => {
        if (o.relay.leader) o.relay.poke();
      });
      await o.bus.flush();
    },
    async stop() {
      sub?.unsubscribe();
    },
  };
}
