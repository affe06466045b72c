/**
 * How a test reaches a nats-server with authorization on: as one of the components (or the
 * `test` and `bench` users), never anonymously.
 */
import type { NatsRole, NatsUser, NatsUsers } from "@switchboard/bus";

export interface NatsAccess {
  readonly url: string;
  /** Every user of the server, by role. */
  readonly users: NatsUsers;
  /** connectBus options for this role: `{ servers, user, pass }`. */
  as(role: NatsRole): { servers: string; user: string; pass: string };
  /** A deployable's environment for this role: SB_NATS_URL, SB_NATS_USER, SB_NATS_PASSWORD. */
  env(role: NatsRole): Record<string, string>;
}

function userOf(users: NatsUsers, role: NatsRole): NatsUser {
  const u = users[role];
  if (!u) throw new Error(`this nats-server has no ${role} user`);
  return u;
}

/** `users` is read at every call: a reload may change the passwords. */
export function natsAccess(url: string, users: () => NatsUsers): NatsAccess {
  return {
    url,
    get users() {
      return users();
    },
    as(role) {
      const u = userOf(users(), role);
      return { servers: url, user: u.user, pass: u.password };
    },
    env(role) {
      const u = userOf(users(), role);
      return { SB_NATS_URL: url, SB_NATS_USER: u.user, SB_NATS_PASSWORD: u.password };
    },
  };
}
