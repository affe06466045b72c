/**
 * The canary round trip (docs/reliability.md, a connection up but delivering nothing): the
 * gateway publishes a numbered probe on a subject of its own every interval and expects to
 * hear it back before the next one. The NATS client only notices a dead server after its
 * pings go unanswered (tens of seconds), and a server that is paused or lost a subscription
 * never closes the connection at all; meanwhile every event for this gateway is lost.
 *
 * After `missLimit` probes in a row went unheard, the gateway reports not ready, counts the
 * outage from the last probe heard, and subscribes everything again (in case the server lost
 * the subscriptions); when a probe comes back, it is ready again and reads the outage back
 * from the stream like after a reconnection (nats-recovery.ts).
 */
import { subjects, type Bus, type BusSubscription } from "@switchboard/bus";
import type { Component } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import { newId } from "@switchboard/model";

export interface CanaryOptions {
  readonly bus: Bus;
  readonly log: Logger;
  readonly intervalMs: number;
  /** Unheard probes in a row that make the connection silent. */
  readonly missLimit: number;
  readonly setReady: (ok: boolean) => void;
  readonly onMiss: () => void;
  /** The connection went silent: nothing was delivered since `sinceMs` (the last probe heard). */
  readonly onSilent: (sinceMs: number) => void;
  /** Subscribes everything again (the server may have lost the subscriptions). */
  readonly resubscribe: () => void;
  /** A probe came back after a silence. */
  readonly onHeard: () => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Canary implements Component {
  readonly name = "nats-canary";
  private readonly subject = subjects.gatewayCanary(newId());
  private sub: BusSubscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sent = 0;
  private heard = 0;
  private heardAt = Date.now();
  private misses = 0;
  private silent = false;

  constructor(private readonly o: CanaryOptions) {}

  async start(): Promise<void> {
    this.subscribe();
    this.timer = setInterval(() => this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.sub?.unsubscribe();
  }

  private subscribe(): void {
    this.sub?.unsubscribe();
    this.sub = this.o.bus.subscribe(this.subject, (m) => this.onProbe(Number(decoder.decode(m.data))));
  }

  private tick(): void {
    // A known disconnection is the bus's to report (readiness "nats", recovery at reconnect).
    if (!this.o.bus.connected) {
      this.misses = 0;
      this.heard = this.sent;
      return;
    }
    if (this.heard < this.sent) {
      this.misses++;
      this.o.onMiss();
      if (this.misses === this.o.missLimit) {
        this.silent = true;
        this.o.setReady(false);
        this.o.log.warn({ since: new Date(this.heardAt).toISOString(), misses: this.misses }, "nats delivers nothing to this gateway: canary unheard");
        this.o.onSilent(this.heardAt);
      }
      if (this.misses % this.o.missLimit === 0) {
        this.o.resubscribe();
        this.subscribe();
      }
    }
    this.o.bus.publish(this.subject, encoder.encode(String(++this.sent)));
  }

  private onProbe(n: number): void {
    if (!Number.isFinite(n) || n <= this.heard) return;
    this.heard = n;
    this.heardAt = Date.now();
    this.misses = 0;
    if (this.silent) {
      this.silent = false;
      this.o.setReady(true);
      this.o.log.info({}, "nats canary heard again");
      this.o.onHeard();
    }
  }
}
