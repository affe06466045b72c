import type { Db } from "@switchboard/db";
import type { Failpoints } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import type { Actor } from "@switchboard/tokens";
import type { PostsMetrics } from "./metrics.js";
import type { OnlineDirectory } from "./users/online-directory.js";
import type { UserDirectory } from "./users/user-directory.js";

/** What the domain functions share: storage, the user and online directories, metrics, the relay's doorbell. */
export interface Deps {
  readonly db: Db;
  readonly users: UserDirectory;
  /** Who is online (for @here). */
  readonly online: OnlineDirectory;
  /** Channels with at least this many members ignore @channel, @all and @here. */
  readonly maxNotificationsPerChannel: number;
  readonly metrics: PostsMetrics;
  readonly log: Logger;
  readonly failpoints: Failpoints;
  /** Wakes the outbox relay after a commit that wrote events. */
  readonly onCommit: () => void;
}

/** One call on behalf of a user. */
export interface Call {
  readonly actor: Actor;
  /** The caller's token, forwarded to accounts. */
  readonly token: string;
  /** Aborted when the call's deadline passes or its client goes away. */
  readonly signal: AbortSignal;
  /** The call's deadline, Unix ms (the client's, or the server's default). */
  readonly deadline: number;
}
