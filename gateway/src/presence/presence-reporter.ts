/**
 * Tells the presence service which connections this gateway holds, under a lease that each
 * report renews. If the lease was lost (presence restarted, or this process was paused past
 * the TTL) a new one is acquired and the full list of open connections is sent, so presence
 * never keeps a user online for a gateway that forgot them, nor the reverse.
 *
 * A new connection is admitted by presence before its `hello`: `opened` resolves once the
 * report carrying it has been applied (the user reads online on every presence replica from
 * then on), or refused when the user or the client's address is at its connection limit.
 * Connects are coalesced: every open of one event-loop turn goes in one report, and those
 * arriving while a report is in flight go in the next, sent as soon as it returns, so a burst
 * costs one report per round trip. Closes and activity wait for the next tick
 * (SB_GATEWAY_PRESENCE_REPORT_MS) unless a connect sends them earlier.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Component } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import { AppError } from "@switchboard/model";
import { ConnectionEventSchema, type ConnectionEvent } from "@switchboard/proto/presence";
import type { PresenceClient } from "@switchboard/rpc";

import type { OpenConnection } from "../connections/connection-table.js";

/** Presence's answer to a new connection: open (and the user online), or refused by a limit. */
export type Admission = "admitted" | "user_limit" | "ip_limit";

export interface PresenceReporterOptions {
  readonly presence: PresenceClient;
  readonly gatewayId: string;
  readonly intervalMs: number;
  readonly log: Logger;
  /** Every connection currently open on this gateway (for a full snapshot). */
  readonly snapshot: () => OpenConnection[];
  /** A connection refused by presence after it was admitted without an answer (presence was unreachable then). */
  readonly onLateRefusal?: (connectionId: string, reason: Admission) => void;
}

const MAX_BUFFERED = 10_000;

/** What the connection layer tells presence (the reporter batches it). */
export type PresenceReports = Pick<PresenceReporter, "opened" | "closed" | "activity">;

interface Waiter {
  readonly connectionId: string;
  readonly resolve: (a: Admission) => void;
}

export class PresenceReporter implements Component {
  readonly name = "presence-reporter";
  private buffer: ConnectionEvent[] = [];
  /** Opens in the buffer whose callers wait for presence's answer. */
  private waiting: Waiter[] = [];
  private lease: { id: string; renewMs: number } | undefined;
  private needSnapshot = true;
  private lastReport = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private kicked = false;
  private stopped = false;

  constructor(private readonly o: PresenceReporterOptions) {}

  /** Reports a new connection now (coalesced with the others of this moment); resolves with presence's answer. */
  opened(connectionId: string, userId: string, clientIp: string): Promise<Admission> {
    this.push({ kind: { case: "opened", value: { connectionId, userId, clientIp, at: BigInt(Date.now()) } } });
    if (this.stopped) return Promise.resolve("admitted");
    const p = new Promise<Admission>((resolve) => this.waiting.push({ connectionId, resolve }));
    this.kick();
    return p;
  }

  closed(connectionId: string, userId: string, clientIp: string): void {
    this.push({ kind: { case: "closed", value: { connectionId, userId, clientIp, at: BigInt(Date.now()) } } });
  }

  activity(userId: string, active: boolean, manual: boolean): void {
    this.push({ kind: { case: "activity", value: { userId, at: BigInt(Date.now()), active, manual } } });
  }

  private push(e: MessageInitShape<typeof ConnectionEventSchema>): void {
    if (this.buffer.length >= MAX_BUFFERED) {
      // Presence has been away for long: a full snapshot will replace the backlog.
      this.buffer = [];
      this.needSnapshot = true;
      return;
    }
    this.buffer.push(create(ConnectionEventSchema, e));
  }

  /** A report as soon as the current one (if any) returns, with every connect of this event-loop turn. */
  private kick(): void {
    if (this.kicked) return;
    this.kicked = true;
    setImmediate(() => void this.tick());
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.sending || this.stopped) return;
    this.kicked = false;
    const due = this.lease ? Date.now() - this.lastReport >= this.lease.renewMs : true;
    if (this.buffer.length === 0 && !due && !this.needSnapshot) return;
    this.sending = this.send().finally(() => {
      this.sending = undefined;
      // Connects that arrived meanwhile go right away.
      if (this.waiting.length > 0 && !this.stopped) this.kick();
    });
    await this.sending;
  }

  private async send(): Promise<void> {
    const waiters = this.waiting;
    this.waiting = [];
    let answered = false;
    try {
      if (!this.lease) {
        const r = await this.o.presence.acquireLease({ gatewayId: this.o.gatewayId });
        this.lease = { id: r.leaseId, renewMs: Math.max(100, Number(r.renewIntervalMs) || Math.floor(Number(r.ttlMs) / 3)) };
        this.needSnapshot = true;
      }
      const full = this.needSnapshot;
      const events = full ? this.snapshotEvents() : this.buffer;
      const taken = this.buffer.length;
      const r = await this.o.presence.report({ leaseId: this.lease.id, events, fullSnapshot: full });
      this.buffer = this.buffer.slice(taken);
      this.needSnapshot = false;
      this.lastReport = Date.now();
      const refused = new Map<string, Admission>();
      for (const x of r.refused) refused.set(x.connectionId, x.reason === "ip_limit" ? "ip_limit" : "user_limit");
      for (const w of waiters) {
        w.resolve(refused.get(w.connectionId) ?? "admitted");
        refused.delete(w.connectionId);
      }
      answered = true;
      for (const [id, reason] of refused) this.o.onLateRefusal?.(id, reason);
    } catch (e: unknown) {
      if (e instanceof AppError && (e.code === "failed_precondition" || e.code === "not_found")) {
        this.o.log.warn({ id: e.id }, "presence lease lost; acquiring a new one");
        this.lease = undefined;
        this.needSnapshot = true;
        // The waiting connects go with the snapshot, right away.
        this.waiting = [...waiters, ...this.waiting];
        answered = true;
      } else {
        this.o.log.warn({ err: e }, "presence report failed; will retry");
      }
    } finally {
      // Presence unreachable: the connections are admitted unconfirmed (their report is retried;
      // a refusal then closes them through onLateRefusal).
      if (!answered) for (const w of waiters) w.resolve("admitted");
    }
  }

  /**
   * A full snapshot: every attached connection, plus what the buffer says of connections not
   * attached (opens still waiting for their answer, and their closes), plus activity.
   */
  private snapshotEvents(): ConnectionEvent[] {
    const now = BigInt(Date.now());
    const open = this.o.snapshot();
    const listed = new Set<string>();
    const events = open.map((c) => {
      listed.add(c.connectionId);
      return create(ConnectionEventSchema, {
        kind: { case: "opened", value: { connectionId: c.connectionId, userId: c.userId, clientIp: c.clientIp, at: now } },
      });
    });
    for (const e of this.buffer) {
      const k = e.kind;
      if (k.case === "activity" || ((k.case === "opened" || k.case === "closed") && !listed.has(k.value.connectionId))) events.push(e);
    }
    return events;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.sending;
    for (const w of this.waiting.splice(0)) w.resolve("admitted");
    if (!this.lease) return;
    try {
      await this.o.presence.releaseLease({ leaseId: this.lease.id }, { deadlineMs: 2_000 });
    } catch (e: unknown) {
      this.o.log.warn({ err: e }, "presence lease release failed; it will expire");
    }
  }
}
