/**
 * Tells the presence service which connections this gateway holds, in batches, under a lease
 * that each report renews. If the lease was lost (presence restarted, or this process was
 * paused past the TTL) a new one is acquired and the full list of open connections is sent,
 * so presence never keeps a user online for a gateway that forgot them, nor the reverse.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Component } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import { AppError } from "@switchboard/model";
import { ConnectionEventSchema, type ConnectionEvent } from "@switchboard/proto/presence";
import type { PresenceClient } from "@switchboard/rpc";

import type { OpenConnection } from "../connections/connection-table.js";

export interface PresenceReporterOptions {
  readonly presence: PresenceClient;
  readonly gatewayId: string;
  readonly intervalMs: number;
  readonly log: Logger;
  /** Every connection currently open on this gateway (for a full snapshot). */
  readonly snapshot: () => OpenConnection[];
}

const MAX_BUFFERED = 10_000;

/** What the connection layer tells presence (the reporter batches it). */
export type PresenceReports = Pick<PresenceReporter, "opened" | "closed" | "activity">;

export class PresenceReporter implements Component {
  readonly name = "presence-reporter";
  private buffer: ConnectionEvent[] = [];
  private lease: { id: string; renewMs: number } | undefined;
  private needSnapshot = true;
  private lastReport = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: PresenceReporterOptions) {}

  opened(connectionId: string, userId: string): void {
    this.push({ kind: { case: "opened", value: { connectionId, userId, at: BigInt(Date.now()) } } });
  }

  closed(connectionId: string, userId: string): void {
    this.push({ kind: { case: "closed", value: { connectionId, userId, at: BigInt(Date.now()) } } });
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

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.sending || this.stopped) return;
    const due = this.lease ? Date.now() - this.lastReport >= this.lease.renewMs : true;
    if (this.buffer.length === 0 && !due && !this.needSnapshot) return;
    this.sending = this.send().finally(() => (this.sending = undefined));
    await this.sending;
  }

  private async send(): Promise<void> {
    try {
      if (!this.lease) {
        const r = await this.o.presence.acquireLease({ gatewayId: this.o.gatewayId });
        this.lease = { id: r.leaseId, renewMs: Math.max(100, Number(r.renewIntervalMs) || Math.floor(Number(r.ttlMs) / 3)) };
        this.needSnapshot = true;
      }
      let events: ConnectionEvent[];
      let full = false;
      if (this.needSnapshot) {
        const now = BigInt(Date.now());
        events = this.o
          .snapshot()
          .map((c) => create(ConnectionEventSchema, { kind: { case: "opened", value: { connectionId: c.connectionId, userId: c.userId, at: now } } }));
        // Activity since the snapshot still matters; open/close are in the snapshot.
        events.push(...this.buffer.filter((e) => e.kind.case === "activity"));
        full = true;
      } else {
        events = this.buffer;
      }
      const taken = this.buffer.length;
      await this.o.presence.report({ leaseId: this.lease.id, events, fullSnapshot: full });
      this.buffer = this.buffer.slice(taken);
      this.needSnapshot = false;
      this.lastReport = Date.now();
    } catch (e: unknown) {
      if (e instanceof AppError && (e.code === "failed_precondition" || e.code === "not_found")) {
        this.o.log.warn({ id: e.id }, "presence lease lost; acquiring a new one");
        this.lease = undefined;
        this.needSnapshot = true;
      } else {
        this.o.log.warn({ err: e }, "presence report failed; will retry");
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.sending;
    if (!this.lease) return;
    try {
      await this.o.presence.releaseLease({ leaseId: this.lease.id }, { deadlineMs: 2_000 });
    } catch (e: unknown) {
      this.o.log.warn({ err: e }, "presence lease release failed; it will expire");
    }
  }
}
