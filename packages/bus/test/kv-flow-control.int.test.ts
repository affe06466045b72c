/**
 * A KV watch under presence's own NATS user keeps up with a burst: the watch is an ordered push
 * consumer with flow control, and past a few megabytes in flight the server waits for the
 * client's answer on `$JS.FC.…` before it sends more. With that subject outside the user's
 * permissions the answer is refused and the watch stops for good: a presence replica's cache
 * froze when 10,000 users were reported at once.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startNatsServer, waitFor } from "@switchboard/testkit";
import { connectBus, openKv, type Bus, type BusStatusEvent } from "../src/index.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Enough bytes in flight for the server to ask for flow control more than once. */
const ENTRIES = 3_000;
const VALUE = new Uint8Array(4_096).fill(7);

describe.each([
  { name: "a bucket named in the configuration", buckets: (b: string) => [b] },
  { name: "any bucket (the tests' shared server)", buckets: () => "any" as const },
])("presence's KV watch, $name", ({ buckets }) => {
  it("sees every entry of a burst, with nothing refused", async () => {
    const bucket = `sb_fc_${Date.now().toString(36)}`;
    const nats = await startNatsServer({ presenceBuckets: buckets(bucket) });
    cleanups.push(() => nats.stop());
    const refused: string[] = [];
    const bus: Bus = await connectBus({
      ...nats.as("presence"),
      name: "fc-test",
      onStatus: (s: BusStatusEvent) => {
        if (s.error) refused.push(s.error.message);
      },
    });
    cleanups.push(() => bus.close());
    const kv = await openKv(bus, { bucket, storage: "memory" });
    const seen = new Set<string>();
    const watch = await kv.watch({ onEntry: (e) => seen.add(e.key) });
    cleanups.push(() => watch.stop());
    for (let i = 0; i < ENTRIES; i += 250) {
      await Promise.all(Array.from({ length: Math.min(250, ENTRIES - i) }, (_, j) => kv.put(`k.${String(i + j)}`, VALUE)));
    }
    await waitFor(
      () => {
        if (seen.size < ENTRIES)
          throw new Error(`the watch has ${String(seen.size)} of ${String(ENTRIES)}; refused: ${refused.slice(0, 2).join("; ") || "nothing"}`);
        return true;
      },
      { timeoutMs: 30_000, what: "every entry through the watch" },
    );
    expect(refused).toEqual([]);
  }, 60_000);
});
