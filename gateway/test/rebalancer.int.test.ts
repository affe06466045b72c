/**
 * The rebalancer's fleet view over a real nats-server, with the gateway's own NATS user: load
 * reports reach every gateway, an overloaded one sheds and the others do not, a gateway that
 * stops leaves the fleet at once (not after its reports go stale), and one that went silent
 * leaves it after 3 report intervals. Sockets and shedding are counters here; the whole path
 * (4000, resume elsewhere, nothing lost) is acceptance/test/rebalance.int.test.ts.
 */
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { connectBus, type Bus } from "@switchboard/bus";
import { silentLogger } from "@switchboard/log";
import { sleep, startNatsServer, waitFor, type NatsServer } from "@switchboard/testkit";
import { Rebalancer } from "../src/resume/rebalancer.js";

let nats: NatsServer;
const buses: Bus[] = [];
const running: Rebalancer[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false });
});

// A failed test leaves none of its gateways reporting into the next.
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

afterAll(async () => {
  for (const b of buses) await b.close().catch(() => undefined);
  await nats?.stop();
});

interface Gw {
  readonly rebalancer: Rebalancer;
  readonly bus: Bus;
  sockets: number;
  /** Every shed asked for. */
  readonly shed: number[];
}

async function gateway(sockets: number, o: { reportMs: number; sustainMs: number; enabled?: boolean }): Promise<Gw> {
  const bus = await connectBus({ ...nats.as("gateway"), name: `rebalancer-${buses.length}` });
  buses.push(bus);
  const gw: Gw = { bus, sockets, shed: [], rebalancer: undefined! };
  const rebalancer = new Rebalancer({
    bus,
    log: silentLogger,
    reportMs: o.reportMs,
    enabled: o.enabled ?? true,
    settings: { thresholdPercent: 120, fractionPercent: 60, sustainMs: o.sustainMs, cooldownMs: 60_000 },
    spreadMs: 0,
    sockets: () => gw.sockets,
    accepting: () => true,
    shed: async (count) => {
      gw.shed.push(count);
      gw.sockets -= count;
      return count;
    },
    onShed: () => undefined,
  });
  Object.assign(gw, { rebalancer });
  await rebalancer.start();
  running.push(rebalancer);
  return gw;
}

async function stop(gw: Gw): Promise<void> {
  const i = running.indexOf(gw.rebalancer);
  if (i >= 0) running.splice(i, 1);
  await gw.rebalancer.stop();
}

it("the overloaded gateway sheds a jittered 60 % of its excess once; the others, and a disabled one, shed nobody", async () => {
  const a = await gateway(100, { reportMs: 100, sustainMs: 300 });
  const off = await gateway(100, { reportMs: 100, sustainMs: 300, enabled: false });
  const b = await gateway(0, { reportMs: 100, sustainMs: 300 });
  const c = await gateway(0, { reportMs: 100, sustainMs: 300 });
  await waitFor(() => a.shed.length > 0, { timeoutMs: 5_000, what: "the overloaded gateway to shed" });
  // Mean 50, excess 50: 60 % ± a quarter of it.
  expect(a.shed[0]).toBeGreaterThanOrEqual(Math.round(50 * 0.6 * 0.75));
  expect(a.shed[0]).toBeLessThanOrEqual(Math.round(50 * 0.6 * 1.25));
  await sleep(600);
  expect(a.shed).toHaveLength(1); // the cooldown
  expect([off.shed, b.shed, c.shed]).toEqual([[], [], []]);
});

it("a gateway that stops leaves the fleet at once: the one left alone sheds nobody", async () => {
  // Reports every 500 ms (stale after 1.5 s), overload sustained 400 ms: had it kept counting
  // the stopped one until its report went stale, it would have shed at its second tick.
  const a = await gateway(100, { reportMs: 500, sustainMs: 400 });
  const b = await gateway(0, { reportMs: 500, sustainMs: 400 });
  await sleep(200);
  await stop(b);
  await sleep(1_400);
  expect(a.shed).toEqual([]);
});

it("a gateway unheard for 3 report intervals leaves the fleet", async () => {
  const a = await gateway(100, { reportMs: 200, sustainMs: 1_200 });
  const b = await gateway(0, { reportMs: 200, sustainMs: 1_200 });
  await sleep(100);
  // Cut off without a word: its reports stop reaching anyone.
  await b.bus.close();
  await sleep(2_000);
  expect(a.shed).toEqual([]);
});
