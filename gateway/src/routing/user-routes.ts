import type { Event } from "@switchboard/proto/events";
import type { Connection } from "../connections/connection.js";

export interface ChannelInfo {
  readonly teamId: string;
  readonly type: string;
}

/** What this gateway knows about one user with connections here. */
export class UserRoutes {
  readonly conns = new Set<Connection>();
  readonly channels = new Map<string, ChannelInfo>();
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
