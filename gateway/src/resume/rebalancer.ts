/**
 * Rebalancing after a scale-out: a new gateway gets only new connections, and WebSockets live
 * for days, so without help the old gateways keep theirs. Every gateway reports its open
 * sockets on NATS every `reportMs` (subjects.gatewayLoad, core NATS) and hears every other's;
 * one that holds far more than the fleet mean for a while (rebalance-plan.ts) closes a
 * jittered share of its excess, in batches, with the drain's code 4000. Those clients
 * reconnect through the balancer, which sends them to the gateways holding the fewest, and
 * resume there: their connections stay here, answering claims (resume-holder.ts), exactly as
 * after a drain, so nothing is lost.
 *
 * Only reports heard within 3 × `reportMs` from gateways still accepting count: a gateway
 * that drains says so as it stops, and one that died or was cut off is forgotten. Alone in
 * the fleet, or while it drains itself, a gateway never sheds anyone.
 */
import { subjects, type Bus, type BusSubscription, type GatewayLoadRecord } from "@switchboard/bus";
import type { Component } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import { newId } from "@switchboard/model";
import { initialRebalanceState, planRebalance, type RebalanceSettings, type RebalanceState } from "./rebalance-plan.js";

export interface RebalancerOptions {
  readonly bus: Bus;
  readonly log: Logger;
  /** Load report interval; a report older than 3 of them is stale. */
  readonly reportMs: number;
  /** False: reports its load (the others count it) but never sheds clients. */
  readonly enabled: boolean;
  readonly settings: RebalanceSettings;
  /** The batches of one round are spread over this long. */
  readonly spreadMs: number;
  /** This gateway's open sockets now. */
  readonly sockets: () => number;
  /** False once the gateway drains (or is not ready): it neither counts nor sheds. */
  readonly accepting: () => boolean;
  /** Closes up to `count` sockets with 4000, spread over `spreadMs`; resolves with how many it closed. */
  readonly shed: (count: number, spreadMs: number) => Promise<number>;
  readonly onShed: (closed: number) => void;
  readonly random?: () => number;
}

interface Heard {
  sockets: number;
  at: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Rebalancer implements Component {
  readonly name = "rebalancer";
  private readonly instance = newId();
  private readonly fleet = new Map<string, Heard>();
  private sub: BusSubscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private state: RebalanceState = initialRebalanceState;
  private shedding = false;
  private readonly log: Logger;

  constructor(private readonly o: RebalancerOptions) {
    this.log = o.log.child({ part: "rebalancer" });
  }

  async start(): Promise<void> {
    this.sub = this.o.bus.subscribe(subjects.allGatewayLoads, (m) => this.heard(m.data));
    await this.o.bus.flush();
    // Counted by the others at once, not a report interval later.
    this.report(this.o.accepting());
    this.timer = setInterval(() => this.tick(), this.o.reportMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.sub?.unsubscribe();
    // The others stop counting this gateway at once (its clients are about to move).
    this.report(false);
  }

  private report(accepting: boolean): void {
    const record: GatewayLoadRecord = { instance: this.instance, sockets: this.o.sockets(), accepting };
    if (this.o.bus.connected) this.o.bus.publish(subjects.gatewayLoad(this.instance), encoder.encode(JSON.stringify(record)));
  }

  private heard(data: Uint8Array): void {
    let r: Partial<GatewayLoadRecord>;
    try {
      r = JSON.parse(decoder.decode(data)) as Partial<GatewayLoadRecord>;
    } catch {
      return;
    }
    if (typeof r.instance !== "string" || r.instance === this.instance) return;
    if (r.accepting !== true || typeof r.sockets !== "number" || !Number.isSafeInteger(r.sockets) || r.sockets < 0) {
      this.fleet.delete(r.instance);
      return;
    }
    this.fleet.set(r.instance, { sockets: r.sockets, at: Date.now() });
  }

  private tick(): void {
    const accepting = this.o.accepting();
    this.report(accepting);
    const now = Date.now();
    const others: number[] = [];
    for (const [id, h] of this.fleet) {
      if (now - h.at > 3 * this.o.reportMs) this.fleet.delete(id);
      else others.push(h.sockets);
    }
    if (this.shedding) return;
    if (!accepting || !this.o.enabled) {
      this.state = { ...this.state, overSince: 0 };
      return;
    }
    const own = this.o.sockets();
    const d = planRebalance(own, others, this.o.settings, this.state, now, (this.o.random ?? Math.random)());
    this.state = d.state;
    if (d.close === 0) return;
    this.shedding = true;
    this.log.info(
      { sockets: own, gateways: others.length + 1, mean: Math.round(d.mean), closing: d.close, spread_ms: this.o.spreadMs },
      "rebalancing: shedding clients",
    );
    void this.o
      .shed(d.close, this.o.spreadMs)
      .then(
        (closed) => this.o.onShed(closed),
        (e: unknown) => this.log.warn({ err: e }, "rebalancing failed"),
      )
      .finally(() => {
        this.shedding = false;
        // The cooldown counts from the last batch.
        this.state = { ...this.state, lastRoundAt: Date.now() };
      });
  }
}
