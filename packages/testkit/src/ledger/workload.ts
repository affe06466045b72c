/**
 * The load the acceptance tests put on a cluster while they break it, and the ledger check that
 * ends each one: a seeded population, one recorder client per user connected through the
 * ingress, and posts through the REST API at a steady rate, spread evenly over the population's
 * channels, plus a slower stream into the channel everyone is in. The truth is what PostgreSQL
 * committed (the ledger tap); the check is the ledger's checker.
 *
 * Posts go through the same ingress as the clients, so a post whose call failed (a gateway
 * killed mid-request) may still have committed: the truth has it, and every member must get it.
 */
import { randomBytes } from "node:crypto";
import { newClient4, type Client4 } from "../mattermost-client.js";
import { seedPopulation, type Population } from "../seed/seed-population.js";
import type { SeededUser } from "../seed/seed-users.js";
import { waitFor } from "../wait.js";
import { checkLedger, type CheckOptions, type LedgerReport } from "./checker.js";
import { startRecorder, type Recorder } from "./recorder.js";
import { installLedgerTap, type LedgerTap } from "./truth.js";

export interface WorkloadOptions {
  /** http://host:port of the ingress (or of one gateway). */
  readonly url: string;
  readonly databaseUrl: string;
  /** The posts service's gRPC address (seeding goes through it). */
  readonly postsAddr: string;
  /** Recorder clients: one per seeded user. */
  readonly clients: number;
  readonly channels: number;
  readonly membersPerChannel: number;
  /** Posts per second spread evenly over the channels. */
  readonly postsPerSecond: number;
  /** Posts per second into the channel everyone is in. */
  readonly everyonePerSecond: number;
  /**
   * Recorders' reconnect wait and jitter: by default the stock client's own (3 s plus up to
   * 2 s), so a reconnect lands when a real client's would.
   */
  readonly minRetryMs?: number;
  readonly jitterMs?: number;
}

export interface PostStats {
  /** Calls that returned the post. */
  readonly created: number;
  /** Calls that failed (the post may still have committed: the truth decides). */
  readonly failed: number;
  /** The last error message seen, if any. */
  readonly lastError: string | undefined;
}

export interface Workload {
  readonly population: Population;
  readonly recorders: readonly Recorder[];
  readonly tap: LedgerTap;
  /** Starts posting (idempotent). */
  startPosting(): void;
  /** Stops posting and waits for the calls in flight. */
  stopPosting(): Promise<PostStats>;
  readonly stats: PostStats;
  /**
   * Checks the ledger until it passes or `timeoutMs` passes; returns the last report (the
   * assertions then show what differs). Call after stopPosting.
   */
  settle(o?: CheckOptions & { readonly timeoutMs?: number }): Promise<LedgerReport>;
  stop(): Promise<void>;
}

/** Seeds the population, connects every recorder (each says hello), and marks the ledger. */
export async function startWorkload(o: WorkloadOptions): Promise<Workload> {
  const population = await seedPopulation({
    databaseUrl: o.databaseUrl,
    postsAddr: o.postsAddr,
    users: o.clients,
    channels: o.channels,
    membersPerChannel: o.membersPerChannel,
  });
  const tap = await installLedgerTap(o.databaseUrl);
  const wsUrl = `${o.url.replace(/^http/, "ws")}/api/v4/websocket`;
  const recorders: Recorder[] = [];
  const stopAll = async (): Promise<void> => {
    for (const r of recorders) r.close();
    await tap.close();
  };
  try {
    for (const u of population.users) {
      recorders.push(
        startRecorder({ userId: u.id, token: u.token, target: wsUrl, label: u.username, minRetryMs: o.minRetryMs ?? 3_000, jitterMs: o.jitterMs ?? 2_000 }),
      );
    }
    await Promise.all(recorders.map((r) => r.waitForHello(60_000)));
    // Everything committed from here on is owed to its members.
    const from = await tap.mark();
    for (const r of recorders) r.from = from;
  } catch (e: unknown) {
    await stopAll();
    throw e;
  }

  const byId = new Map(population.users.map((u) => [u.id, u]));
  const rest = new Map<string, Client4>();
  const clientOf = (u: SeededUser): Client4 => {
    let c = rest.get(u.id);
    if (!c) {
      c = newClient4(o.url);
      c.setToken(u.token);
      rest.set(u.id, c);
    }
    return c;
  };
  let created = 0;
  let failed = 0;
  let lastError: string | undefined;
  let n = 0;
  const inFlight = new Set<Promise<void>>();
  const post = (channelId: string, memberIds: readonly string[]): void => {
    const i = n++;
    const poster = byId.get(memberIds[i % memberIds.length]!);
    if (!poster) return;
    const p = clientOf(poster)
      .createPost({ channel_id: channelId, message: `seq=${i}`, pending_post_id: `${poster.id}:${randomBytes(8).toString("hex")}` })
      .then(
        () => {
          created++;
        },
        (e: unknown) => {
          failed++;
          lastError = e instanceof Error ? e.message : String(e);
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const timers: NodeJS.Timeout[] = [];
  let channelTurn = 0;
  const stats = (): PostStats => ({ created, failed, lastError });
  return {
    population,
    recorders,
    tap,
    get stats() {
      return stats();
    },
    startPosting() {
      if (timers.length > 0) return;
      if (o.postsPerSecond > 0 && population.channels.length > 0) {
        timers.push(
          setInterval(() => {
            const ch = population.channels[channelTurn++ % population.channels.length]!;
            post(ch.id, ch.memberIds);
          }, 1000 / o.postsPerSecond),
        );
      }
      if (o.everyonePerSecond > 0) {
        timers.push(setInterval(() => post(population.everyone.id, population.everyone.memberIds), 1000 / o.everyonePerSecond));
      }
    },
    async stopPosting() {
      for (const t of timers.splice(0)) clearInterval(t);
      await Promise.all([...inFlight]);
      return stats();
    },
    async settle(c = {}) {
      let last: LedgerReport | undefined;
      await waitFor(
        async () => {
          last = checkLedger(await tap.truth(), recorders, c);
          return last.ok;
        },
        { timeoutMs: c.timeoutMs ?? 30_000, intervalMs: 250, what: "every client to have every event" },
      ).catch(() => undefined);
      return last!;
    },
    async stop() {
      for (const t of timers.splice(0)) clearInterval(t);
      await Promise.all([...inFlight]);
      await stopAll();
    },
  };
}
