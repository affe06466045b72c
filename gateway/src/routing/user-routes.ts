import type { Event } from "@switchboard/proto/events";
import type { Connection } from "../connections/connection.js";

/** What this gateway knows about one user with connections here. */
export class UserRoutes {
  readonly conns = new Set<Connection>();
  /**
   * The user's channels, each with the channel_seq of the change that made them a member (0:
   * unknown, a membership loaded at connect, older than any event still in flight). A channel
   * event numbered below it predates the membership: a late one (held for a repair and then
   * released) must not reach the user.
   */
  readonly channels = new Map<string, number>();
  /** When this gateway learned of each membership (Unix ms): read-back ephemeral events go only to members by then. */
  readonly joinedAtMs = new Map<string, number>();
  readonly teams = new Set<string>();
  /** Until the membership snapshot is loaded, user-subject events wait here, in order. */
  pending: Event[] | undefined = [];
  /** Connections being set up for this user (Fanout.claim), not yet attached or abandoned. */
  claims = 0;
  /** Resolves when loaded (rejects if loading failed). */
  loaded: Promise<void> = Promise.resolve();

  constructor(readonly userId: string) {}

  get ready(): boolean {
    return this.pending === undefined;
  }
}
