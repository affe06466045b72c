import type { Connection } from "../connections/connection.js";

/**
 * What the connection layer (sessions, actions) may ask of the fan-out hub: routing a user's
 * events to their connections here, and the one membership fact a request needs. How the hub
 * indexes users, channels and subscriptions stays inside it.
 *
 * A connection's routing goes: `claim` (resolves once the user's events reach this gateway),
 * then exactly one of `attach` (the connection gets its user's events) or `abandon` (the
 * socket went away meanwhile); `detach` when the connection is forgotten. A user's routing
 * is dropped once no connection is attached and no claim is outstanding.
 */
export interface Fanout {
  /**
   * Makes sure this gateway routes the user's events (subscriptions, memberships loaded with
   * the caller's token; concurrent claims of one user share the load). Rejects when loading
   * failed; the claim is then void.
   */
  claim(userId: string, token: string): Promise<void>;
  /** Ends a resolved claim: the connection receives its user's events from now on. */
  attach(conn: Connection): void;
  /** Ends a resolved claim without a connection. */
  abandon(userId: string): void;
  /** The connection receives nothing more. */
  detach(conn: Connection): void;
  /** Whether a user routed here belongs to the channel, as the routing knows it. */
  isChannelMember(userId: string, channelId: string): boolean;
}

/** What the hub reports about a connection it delivers to; the sessions layer handles it. */
export interface DeliveryTroubles {
  /** The connection's queue overflowed: close it and forget it. */
  overflowed(conn: Connection): void;
  /** The socket's byte budget is exhausted with events still queued. */
  stalledNow(conn: Connection): void;
  /**
   * Events for the connection were lost beyond repair: forget it and close its socket with a
   * code the client reconnects on; its resume then finds nothing and gets a new
   * connection_id and hello, the client's signal to resync.
   */
  mustResync(conn: Connection): void;
}
