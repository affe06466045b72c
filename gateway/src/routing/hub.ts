/**
 * The fan-out engine. Every event arrives from NATS once; it is decoded once, membership facts
 * are applied before anything else, the frame is rendered once (per `posted` variant), and
 * each local connection that passes Mattermost's filters gets the shared frame plus its own
 * sequence number. Writes happen once per socket per event-loop turn (FlushScheduler).
 */
import {
  decodeEvent,
  familyEvents,
  parseEventSubject,
  readStreamRange,
  streams,
  streamState,
  subjects,
  type Bus,
  type BusStatusEvent,
  type EventSubjectScope,
} from "@switchboard/bus";
import type { Logger } from "@switchboard/log";
import type { Component } from "@switchboard/lifecycle";
import { MembershipChange_Kind as MembershipKind, type Event } from "@switchboard/proto/events";
import type { PostsClient } from "@switchboard/rpc";
import { sheddable, type Connection } from "../connections/connection.js";
import type { GatewayMetrics } from "../metrics.js";
import { broadcastJson, renderEvent, type EventFrame } from "../protocol/outbound.js";
import { ChannelBackfill } from "./channel-backfill.js";
import type { DeliveryTroubles, Fanout } from "./fanout.js";
import { eventFilter } from "./filters.js";
import { FlushScheduler } from "./flush-scheduler.js";
import { liveDropFailpoint, type LiveDrop } from "./live-drop.js";
import { NatsRecovery, owedTo } from "./nats-recovery.js";
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
  /** How long a channel repair may hold the channel before its connections are resynced. */
  readonly repairTimeoutMs: number;
  /** How long after a new channel subscription the channel's head is checked again (ChannelBackfillOptions.verifyAfterMs). */
  readonly verifyHeadsAfterMs: number;
  /** Read back this long before an outage's start, and give the read-back this long. */
  readonly recoveryMarginMs: number;
  readonly recoveryTimeoutMs: number;
  /** Test failpoints (SB_FAILPOINTS): live-drop.ts. */
  readonly failpoints?: readonly string[];
}

const decoder = new TextDecoder();

const unwired: DeliveryTroubles = {
  overflowed: () => {
    throw new Error("hub: no handler for delivery troubles (reportTroublesTo not called)");
  },
  stalledNow: () => {
    throw new Error("hub: no handler for delivery troubles (reportTroublesTo not called)");
  },
  mustResync: () => {
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
  private readonly recovery: NatsRecovery;
  private readonly liveDrop: LiveDrop | undefined;
  private readonly log: Logger;
  private troubles = unwired;
  /** While an outage's read-back or its held events are delivered: when the event was published (owedTo). */
  private publishedMs = Number.POSITIVE_INFINITY;
  /** While ephemeral events are read back: when the event was sent (only members who had joined by then get it). */
  private joinedBy = Number.POSITIVE_INFINITY;
  private stopStatus: (() => void) | undefined;

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
      log: this.log,
      stream: async (subject, fromMs) => {
        await o.bus.flush();
        const msgs = await readStreamRange(o.bus, { stream: streams.events.name, filterSubjects: [subject], start: { timeMs: fromMs } });
        return msgs.map((m) => decodeEvent(m.data));
      },
      replayEphemeral: (channelId, fromMs) => this.replayEphemeral(channelId, fromMs),
      committed: async (channelId, after, upTo) =>
        (await o.posts.getChannelEvents({ channelId, afterSeq: after, upToSeq: upTo }, { deadlineMs: o.rpcDeadlineMs })).events.map((e) => decodeEvent(e)),
      heads: async (channelIds) => {
        await o.bus.flush();
        return (await o.posts.getChannelHeads({ channelIds: [...channelIds] }, { deadlineMs: o.rpcDeadlineMs })).heads;
      },
      verifyAfterMs: o.verifyHeadsAfterMs,
      process: (ev, subject) => this.process(ev, subject),
      routed: (channelId) => this.index.channelUsers.has(channelId),
      resync: (channelId) => this.resyncChannel(channelId),
      repairTimeoutMs: o.repairTimeoutMs,
      onRecovered: (source, n) => o.metrics.backfilled(source, n),
      onGap: () => o.metrics.channelGap(),
      onUnrepaired: () => o.metrics.channelGapUnrepaired(),
    });
    this.recovery = new NatsRecovery({
      bus: o.bus,
      stream: {
        state: () => streamState(o.bus, streams.events.name),
        // One read of the whole stream (every family it stores), filtered by the recovery: the
        // server before 2.10 takes one filter per consumer.
        read: (fromMs, max) => readStreamRange(o.bus, { stream: streams.events.name, start: { timeMs: fromMs }, maxMessages: max }),
      },
      log: this.log,
      marginMs: o.recoveryMarginMs,
      timeoutMs: o.recoveryTimeoutMs,
      holds: (subject) => this.subs.holds(subject),
      replay: (ev, subject, storedMs) => this.routePublishedAt(ev, subject, storedMs),
      release: (ev, subject, arrivedMs) => this.routePublishedAt(ev, subject, arrivedMs),
      connections: () => this.connections(),
      resync: (conn) => this.troubles.mustResync(conn),
      resetSequences: () => this.backfill.reset(),
      onRecovered: (n) => o.metrics.backfilled("stream", n),
      onPastRetention: (n) => o.metrics.outagePastRetention(n),
      onCaughtUp: () => void this.checkHeads(),
    });
    this.liveDrop = liveDropFailpoint(o.failpoints ?? []);
  }

  /** Where overflowing and stalled connections are reported (the sessions layer). */
  reportTroublesTo(troubles: DeliveryTroubles): void {
    this.troubles = troubles;
  }

  async start(): Promise<void> {
    this.stopStatus = this.o.bus.onStatus((s) => this.onBusStatus(s));
    this.subs.acquire(subjects.everyone);
  }

  async stop(): Promise<void> {
    this.stopStatus?.();
    this.backfill.close();
    this.subs.clear();
  }

  /** Nothing was delivered from `sinceMs` on (the canary heard nothing): recovered by recoverOutage(). */
  outageFrom(sinceMs: number): void {
    this.recovery.lost(sinceMs);
  }

  /** Delivery works again: read the outage back from the stream. */
  recoverOutage(): void {
    this.recovery.recover();
  }

  /** Subscribes every subject again (the server may have lost the subscriptions). */
  resubscribe(): void {
    this.subs.resubscribe();
  }

  private onBusStatus(s: BusStatusEvent): void {
    if (s.state === "disconnected" && !s.error) this.recovery.lost(Date.now());
    else if (s.state === "connected" && !s.error) this.recovery.recover();
  }

  /**
   * After an outage: the channels' last committed numbers from posts, so a change lost at the
   * end of a channel's traffic (no later event shows the hole) is repaired too. Best effort:
   * a later event of the channel still shows the hole if this fails.
   */
  private async checkHeads(): Promise<void> {
    try {
      const repairs = await this.backfill.verify(this.backfill.channels());
      if (repairs > 0) this.log.warn({ channels: repairs }, "channels behind their committed head after an outage: repairing");
    } catch (e: unknown) {
      this.log.warn({ err: e }, "checking the channels' heads after an outage failed");
    }
  }

  /**
   * The channel's ephemeral events (typing) since a new subscription was made, read back from
   * the stream: one published on another NATS server before the subscription's interest
   * reached it was not forwarded (ChannelBackfillOptions.verifyAfterMs). Those already
   * delivered are dropped as repeats; each goes only to local members who had joined the
   * channel when it was sent.
   */
  private async replayEphemeral(channelId: string, fromMs: number): Promise<void> {
    const subject = subjects.channelEphemeral(channelId);
    await this.o.bus.flush();
    const msgs = await readStreamRange(this.o.bus, { stream: streams.events.name, filterSubjects: [subject], start: { timeMs: fromMs } });
    const scope = parseEventSubject(subject);
    for (const m of msgs) {
      let ev: Event;
      try {
        ev = decodeEvent(m.data);
      } catch {
        continue;
      }
      if (!scope || !this.admit(ev, scope) || !this.index.channelUsers.has(channelId)) continue;
      this.joinedBy = Number(ev.originTimeMs);
      try {
        this.process(ev, subject, scope);
      } finally {
        this.joinedBy = Number.POSITIVE_INFINITY;
      }
    }
  }

  private connections(): Connection[] {
    const out: Connection[] = [];
    for (const r of this.index.users.values()) for (const c of r.conns) out.push(c);
    return out;
  }

  /** Every local connection of the channel's members must resync: the channel's past is lost to them. */
  private resyncChannel(channelId: string): void {
    const members = this.index.channelUsers.get(channelId);
    if (!members) return;
    const conns: Connection[] = [];
    for (const r of members) for (const c of r.conns) conns.push(c);
    for (const c of conns) this.troubles.mustResync(c);
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
        for (const c of routing.channels) this.index.joinChannel(r, c.channelId, 0);
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
    // A resume on this gateway attaches again: routed since the first time.
    if (conn.routedSinceMs === 0) conn.routedSinceMs = Date.now();
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
    const scope = parseEventSubject(subject);
    // Counted once here, as it arrives: not again when a parked or held event is processed.
    this.o.metrics.eventReceived(scope?.scope ?? "other");
    if (this.liveDrop && scope?.scope === "channel" && this.liveDrop(scope.id, ev)) return;
    this.route(ev, subject, true, scope);
  }

  /**
   * An event of a family other than posts's (`sb.evt`): each has one publisher with narrow
   * rights (gateways: typing; presence: status changes; accounts: user events), so it passes
   * only with a kind of its family, addressed to the subject's own channel or user, and
   * carrying none of the facts only posts states (membership, channel_seq, posted hints).
   */
  private admit(ev: Event, scope: EventSubjectScope): boolean {
    if (scope.family === "evt") return true;
    const b = ev.broadcast;
    const ok =
      familyEvents[scope.family].has(ev.event) &&
      (scope.scope === "channel"
        ? b !== undefined && b.channelId === scope.id && b.userId === "" && b.teamId === ""
        : b === undefined || ((b.userId === "" || b.userId === scope.id) && b.channelId === "" && b.teamId === ""));
    if (!ok) {
      this.o.metrics.eventRefused(scope.family);
      this.log.debug({ family: scope.family, event: ev.event }, "event refused: not of its subject family's kinds or scope");
      return false;
    }
    ev.membership = undefined;
    ev.channelSeq = 0n;
    ev.posted = undefined;
    return true;
  }

  /**
   * A live event (or one recovered from the stream after an outage, `live` false): it waits
   * behind an outage's read-back or a repair of its channel, or is processed now.
   */
  private route(ev: Event, subject: string, live: boolean, scope = parseEventSubject(subject)): void {
    if (scope !== undefined && !this.admit(ev, scope)) return;
    if (live && this.recovery.hold(subject, ev)) return;
    if (this.backfill.hold(subject, ev)) return;
    this.process(ev, subject, scope);
  }

  /**
   * An event of an outage (read back, or held live meanwhile): only for connections routed
   * here when it was published. One a channel repair holds is delivered later without this
   * check: channel events are sorted out by `channel_seq` instead.
   */
  private routePublishedAt(ev: Event, subject: string, publishedMs: number): void {
    this.publishedMs = publishedMs;
    try {
      this.route(ev, subject, false);
    } finally {
      this.publishedMs = Number.POSITIVE_INFINITY;
    }
  }

  /**
   * Applies and delivers one event (live, or recovered by a repair or a read-back). Repeats
   * are dropped here, not on arrival: an event held for a repair is recorded only once
   * delivered, so the copy the repair brings and the held copy cannot both be lost.
   */
  private process(ev: Event, subject: string, scope = parseEventSubject(subject)): void {
    if (scope?.scope === "user") {
      const r = this.index.users.get(scope.id);
      if (r && !r.ready) {
        r.pending!.push(ev);
        return;
      }
    }
    if (ev.id !== "" && this.recent.has(ev.id)) {
      this.o.metrics.duplicateDropped();
      return;
    }
    if (scope?.scope === "channel" && ev.channelSeq > 0n && this.backfill.check(scope.id, subject, ev) !== "deliver") return;
    // A member's removal on their own subject, ahead of the channel's events before it: those
    // are delivered first (ChannelBackfill.holdRemoval), then the removal, as the channel's.
    const m = ev.membership;
    if (scope?.scope === "user" && m?.kind === MembershipKind.CHANNEL_REMOVED && ev.channelSeq > 0n && this.index.channelUsers.has(m.channelId)) {
      if (this.backfill.holdRemoval(subjects.channel(m.channelId), m.channelId, ev)) return;
    }
    if (ev.id !== "") this.recent.add(ev.id);
    if (ev.membership) {
      const res = this.index.apply(ev.membership, Number(ev.channelSeq));
      if (res.newChannelSubject && ev.channelSeq > 0n) this.backfill.start(res.newChannelSubject, ev.membership.channelId, ev);
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
    const publishedMs = this.publishedMs;
    const joinedBy = this.joinedBy;
    for (const r of candidates) {
      if (!r.ready || (userPasses !== undefined && !userPasses(r))) continue;
      if (joinedBy !== Number.POSITIVE_INFINITY && !((r.joinedAtMs.get(b?.channelId ?? "") ?? Number.POSITIVE_INFINITY) <= joinedBy)) continue;
      for (const conn of r.conns) {
        if (conn.dead || !owedTo(conn.routedSinceMs, publishedMs) || (connPasses !== undefined && !connPasses(conn))) continue;
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
