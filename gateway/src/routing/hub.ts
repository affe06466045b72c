/**
 * The fan-out engine. Every event arrives from NATS once; it is decoded once, membership facts
 * are applied before anything else, the frame is rendered once (per `posted` variant), and
 * each local connection that passes Mattermost's filters gets the shared frame plus its own
 * sequence number. Writes happen once per socket per event-loop turn (FlushScheduler).
 */
import { decodeEvent, parseEventSubject, subjects, type Bus } from "@switchboard/bus";
import type { Logger } from "@switchboard/log";
import type { Component } from "@switchboard/lifecycle";
import type { Event } from "@switchboard/proto/events";
import type { PostsClient } from "@switchboard/rpc";
import { sheddable, type Connection } from "../connections/connection.js";
import type { GatewayMetrics } from "../metrics.js";
import { broadcastJson, renderEvent, type EventFrame } from "../protocol/outbound.js";
import { ChannelBackfill } from "./channel-backfill.js";
import type { DeliveryTroubles, Fanout } from "./fanout.js";
import { eventFilter } from "./filters.js";
import { FlushScheduler } from "./flush-scheduler.js";
import { PostedVariants } from "./posted-variants.js";
import { RecentIds } from "./recent-ids.js";
import { RouteIndex } from "./route-index.js";
import { SubjectTable } from "./subject-table.js";
import type { UserRoutes } from "./user-routes.js";

export interface HubOptions {
  readonly bus: Bus;
  readonly posts: PostsClient;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  readonly rpcDeadlineMs: number;
}

const decoder = new TextDecoder();

const unwired: DeliveryTroubles = {
  overflowed: () => {
    throw new Error("hub: no handler for delivery troubles (reportTroublesTo not called)");
  },
  stalledNow: () => {
    throw new Error("hub: no handler for delivery troubles (reportTroublesTo not called)");
  },
};

/**
 * The hub's own state (route index, subscriptions, flush list, back-fill) is private: the
 * connection layer sees it through Fanout only.
 */
export class Hub implements Fanout, Component {
  readonly name = "hub";
  private readonly index: RouteIndex;
  private readonly subs: SubjectTable;
  private readonly scheduler: FlushScheduler;
  private readonly recent = new RecentIds(16_384);
  private readonly backfill: ChannelBackfill;
  private readonly log: Logger;
  private troubles = unwired;

  constructor(private readonly o: HubOptions) {
    this.log = o.log.child({ part: "hub" });
    this.subs = new SubjectTable(
      o.bus,
      (subject, data) => this.onMessage(subject, data),
      (n) => o.metrics.setSubscriptions(n),
    );
    this.index = new RouteIndex(this.subs, (channelId) => this.backfill.forget(channelId));
    this.scheduler = new FlushScheduler((conn) => this.troubles.stalledNow(conn));
    this.backfill = new ChannelBackfill({
      bus: o.bus,
      log: this.log,
      process: (ev, subject) => this.process(ev, subject),
      onRecovered: (n) => o.metrics.backfilled(n),
    });
  }

  /** Where overflowing and stalled connections are reported (the sessions layer). */
  reportTroublesTo(troubles: DeliveryTroubles): void {
    this.troubles = troubles;
  }

  async start(): Promise<void> {
    this.subs.acquire(subjects.everyone);
  }

  async stop(): Promise<void> {
    this.subs.clear();
  }

  /**
   * Makes sure this gateway routes the user's events: subscribes their subject, loads their
   * memberships (one RPC), subscribes those subjects and waits until the server has every
   * subscription. Concurrent connections of one user share the load; each holds a claim
   * that keeps the routing until it attaches or abandons.
   */
  async claim(userId: string, token: string): Promise<void> {
    const existing = this.index.users.get(userId);
    if (existing) {
      existing.claims++;
      await existing.loaded;
      return;
    }
    const r = this.index.addUser(userId);
    r.claims = 1;
    r.loaded = (async () => {
      try {
        await this.o.bus.flush();
        const routing = await this.o.posts.getUserRouting({ userId }, { token, deadlineMs: this.o.rpcDeadlineMs });
        for (const t of routing.teamIds) this.index.joinTeam(r, t);
        for (const c of routing.channels) this.index.joinChannel(r, c.channelId, { teamId: c.teamId, type: c.type });
        await this.o.bus.flush();
        const pending = r.pending ?? [];
        r.pending = undefined;
        for (const ev of pending) this.process(ev, subjects.user(userId));
      } catch (e: unknown) {
        this.index.removeUser(r);
        throw e;
      }
    })();
    await r.loaded;
  }

  attach(conn: Connection): void {
    const r = this.claimed(conn.userId);
    r.claims--;
    r.conns.add(conn);
  }

  abandon(userId: string): void {
    const r = this.claimed(userId);
    r.claims--;
    this.releaseIfUnused(r);
  }

  detach(conn: Connection): void {
    const r = this.index.users.get(conn.userId);
    if (!r || !r.conns.delete(conn)) return;
    this.releaseIfUnused(r);
  }

  isChannelMember(userId: string, channelId: string): boolean {
    return this.index.users.get(userId)?.channels.has(channelId) ?? false;
  }

  private claimed(userId: string): UserRoutes {
    const r = this.index.users.get(userId);
    if (!r || !r.ready || r.claims === 0) throw new Error(`hub: user ${userId} has no resolved claim`);
    return r;
  }

  /** Drops a user's routing once no connection is attached and no claim is outstanding. */
  private releaseIfUnused(r: UserRoutes): void {
    if (r.conns.size === 0 && r.claims === 0) this.index.removeUser(r);
  }

  /** Entry point for every NATS message on an event subject. */
  private onMessage(subject: string, data: Uint8Array): void {
    let ev: Event;
    try {
      ev = decodeEvent(data);
    } catch {
      this.log.warn({ subject }, "undecodable event dropped");
      return;
    }
    if (ev.id !== "" && this.recent.seenBefore(ev.id)) {
      this.o.metrics.duplicateDropped();
      return;
    }
    const scope = parseEventSubject(subject);
    // Counted once here, as it arrives: not again when a parked or held event is processed.
    this.o.metrics.eventReceived(scope?.scope ?? "other");
    if (this.backfill.hold(subject, ev)) return;
    this.process(ev, subject, scope);
  }

  /** Applies and delivers one event (live, or recovered in stream order by the back-fill). */
  private process(ev: Event, subject: string, scope = parseEventSubject(subject)): void {
    if (scope?.scope === "user") {
      const r = this.index.users.get(scope.id);
      if (r && !r.ready) {
        r.pending!.push(ev);
        return;
      }
    }
    if (scope?.scope === "channel" && ev.channelSeq > 0n && !this.backfill.accept(scope.id, ev.channelSeq)) return;
    if (ev.membership) {
      const res = this.index.apply(ev.membership);
      if (res.newChannelSubject && ev.channelSeq > 0n) this.backfill.start(res.newChannelSubject, ev);
    }
    this.deliver(ev, scope);
  }

  private deliver(ev: Event, scope: ReturnType<typeof parseEventSubject>): void {
    const b = ev.broadcast;
    let candidates: Iterable<UserRoutes>;
    // Taken from the channel's (or team's) local members: membership is known, not checked.
    let members = false;
    if (b?.userId) {
      const r = this.index.users.get(b.userId);
      if (!r) return;
      candidates = [r];
    } else if (b?.channelId) {
      const set = this.index.channelUsers.get(b.channelId);
      if (!set) return;
      candidates = set;
      members = true;
    } else if (b?.teamId) {
      const set = this.index.teamUsers.get(b.teamId);
      if (!set) return;
      candidates = set;
      members = true;
    } else if (scope?.scope === "user") {
      const r = this.index.users.get(scope.id);
      if (!r) return;
      candidates = [r];
    } else {
      candidates = this.index.users.values();
    }

    let base: EventFrame | undefined;
    let dataJson: string | undefined;
    let bjson: string | undefined;
    const baseFrame = (): EventFrame => {
      if (!base) {
        dataJson ??= decoder.decode(ev.data);
        bjson ??= broadcastJson(b);
        base = renderEvent(ev.event, dataJson, bjson);
      }
      return base;
    };
    let variants: PostedVariants | undefined;
    let delivered = 0;
    const { user: userPasses, conn: connPasses } = eventFilter(ev, members);
    const shed = sheddable(ev.event);
    for (const r of candidates) {
      if (!r.ready || (userPasses !== undefined && !userPasses(r))) continue;
      for (const conn of r.conns) {
        if (conn.dead || (connPasses !== undefined && !connPasses(conn))) continue;
        let frame: EventFrame;
        if (ev.posted) {
          if (!variants) {
            dataJson ??= decoder.decode(ev.data);
            bjson ??= broadcastJson(b);
            variants = new PostedVariants(ev, dataJson, bjson, baseFrame);
          }
          frame = variants.frameFor(conn);
        } else {
          frame = baseFrame();
        }
        const res = conn.deliver(frame, ev.id, shed);
        if (res === "queued") {
          delivered++;
          if (conn.attached) this.scheduler.mark(conn);
        } else if (res === "shed") {
          this.o.metrics.shedEvent(ev.event);
        } else {
          this.troubles.overflowed(conn);
        }
      }
    }
    if (delivered > 0) this.o.metrics.delivered(delivered);
  }
}
