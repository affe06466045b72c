import { afterEach, describe, expect, it, vi } from "vitest";
import type { Bus, BusMessage } from "@switchboard/bus";
import { silentLogger } from "@switchboard/log";
import { Canary } from "./canary.js";

/** A bus that loops publishes back to subscribers, unless it is silent. */
function loopBus() {
  const handlers = new Map<string, (m: BusMessage) => void>();
  const b = {
    connected: true,
    silent: false,
    subscriptions: 0,
    publish(subject: string, data: Uint8Array) {
      if (b.silent) return;
      handlers.get(subject)?.({ subject, data, header: () => undefined, reply: undefined, respond: () => false });
    },
    subscribe(subject: string, handler: (m: BusMessage) => void) {
      b.subscriptions++;
      handlers.set(subject, handler);
      return { subject, unsubscribe: () => handlers.delete(subject) };
    },
  };
  return b;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the canary round trip", () => {
  it("goes not ready after the miss limit, subscribes again, and reports the silence and its end", async () => {
    vi.useFakeTimers();
    const bus = loopBus();
    const seen: string[] = [];
    let resubscribed = 0;
    const canary = new Canary({
      bus: bus as unknown as Bus,
      log: silentLogger,
      intervalMs: 1_000,
      missLimit: 2,
      setReady: (ok) => seen.push(ok ? "ready" : "not ready"),
      onMiss: () => seen.push("miss"),
      onSilent: (since) => seen.push(`silent since ${since}`),
      resubscribe: () => resubscribed++,
      onHeard: () => seen.push("heard"),
    });
    const start = Date.now();
    await canary.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(seen).toEqual([]);
    bus.silent = true;
    await vi.advanceTimersByTimeAsync(3_000);
    // The probe of 4 s is the first unheard: misses at 5 s and 6 s, silent since the probe of 3 s was heard.
    expect(seen).toEqual(["miss", "miss", "not ready", `silent since ${start + 3_000}`]);
    expect(resubscribed).toBe(1);
    expect(bus.subscriptions).toBe(2);
    bus.silent = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen.slice(-3)).toEqual(["miss", "ready", "heard"]);
    await canary.stop();
  });

  it("leaves a known disconnection to the bus", async () => {
    vi.useFakeTimers();
    const bus = loopBus();
    const seen: string[] = [];
    const canary = new Canary({
      bus: bus as unknown as Bus,
      log: silentLogger,
      intervalMs: 1_000,
      missLimit: 2,
      setReady: (ok) => seen.push(ok ? "ready" : "not ready"),
      onMiss: () => seen.push("miss"),
      onSilent: () => seen.push("silent"),
      resubscribe: () => undefined,
      onHeard: () => seen.push("heard"),
    });
    await canary.start();
    await vi.advanceTimersByTimeAsync(1_000);
    bus.connected = false;
    bus.silent = true;
    await vi.advanceTimersByTimeAsync(5_000);
    bus.connected = true;
    bus.silent = false;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(seen).toEqual([]);
    await canary.stop();
  });
});
