/**
 * The status_change publishing protocol between replicas, driven step by step against a real
 * nats-server: two "replicas" (each its own cache, writer and publisher over one KV bucket)
 * race on the same record in exactly the interleavings that are rare in a live cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBus, decodeEvent, ensureStream, eventStreamSpec, isolatedBucket, kvBuckets, openKv, subjects, type Bus, type KvStore } from "@switchboard/bus";
import { silentLogger } from "@switchboard/log";
import { createMetricsRegistry } from "@switchboard/metrics";
import { newId } from "@switchboard/model";
import { startNatsServer, waitFor, type NatsServer } from "@switchboard/testkit";
import { createPresenceMetrics } from "../src/metrics.js";
import { createStatusPublisher } from "../src/presence/status-publisher.js";
import type { Timing } from "../src/presence/status-rules.js";
import { createUserWriter } from "../src/presence/user-writer.js";
import { PresenceCache } from "../src/store/presence-cache.js";
import { createPresenceKv } from "../src/store/presence-kv.js";

const timing: Timing = { graceMs: 300, awayAfterMs: 60_000, activityWriteIntervalMs: 0, republishAfterMs: 1_000 };

describe("presence: status_change publishing between replicas", () => {
  let nats: NatsServer;
  let bus: Bus;
  let observer: Bus;
  let store: KvStore;
  const seen: { userId: string; status: string; id: string }[] = [];

  const replica = () => {
    const metrics = createPresenceMetrics(createMetricsRegistry({ collectDefault: false }));
    const kv = createPresenceKv(store, metrics);
    const cache = new PresenceCache(timing, () => undefined);
    const writer = createUserWriter({ kv, cache, metrics });
    const publisher = createStatusPublisher({ bus, writer, metrics, log: silentLogger, publishTimeoutMs: 2_000, republishAfterMs: timing.republishAfterMs });
    return { cache, writer, publisher };
  };

  beforeAll(async () => {
    // A server of its own: its SB_EVT is in memory, and it takes every event on the server as its publishers'.
    nats = await startNatsServer();
    // Posts owns the event stream and creates it; presence publishes into it.
    const owner = await connectBus({ ...nats.as("posts"), name: "publisher-test-owner" });
    await ensureStream(owner, eventStreamSpec({ maxAgeMs: 60_000, storage: "memory" }));
    await owner.close();
    bus = await connectBus({ ...nats.as("presence"), name: "publisher-test" });
    store = await openKv(bus, { bucket: isolatedBucket(kvBuckets.presence, "publisher_test"), storage: "memory" });
    observer = await connectBus({ ...nats.as("test"), name: "publisher-test-observer" });
    observer.subscribe(subjects.allStatus, (m) => {
      const ev = decodeEvent(m.data);
      const d = JSON.parse(Buffer.from(ev.data).toString()) as { status: string; user_id: string };
      seen.push({ userId: d.user_id, status: d.status, id: ev.id });
    });
    await observer.flush();
  });

  afterAll(async () => {
    await bus?.close();
    await observer?.close();
    await nats?.stop();
  });

  it("publishes an orphaned change once when every replica's sweep finds it at the same moment", async () => {
    const userId = newId();
    const [a, b, c] = [replica(), replica(), replica()];
    // Written, then the writer "died" long enough ago: nothing published, the record owes the event.
    const w = await a.writer.write(userId, (d) => void (d.status = "online"));
    const orphan = await a.writer.write(userId, (d) => void (d.pending_since -= 2 * timing.republishAfterMs));
    expect(orphan.record.pending_event).toBe(w.event!.id);
    // Every replica's cache holds it (as their watches would), so all of them find it due.
    for (const r of [b, c]) r.cache.applyUser(userId, orphan.record, orphan.revision);
    await Promise.all([a, b, c].map((r) => r.publisher.republish(userId, orphan.record)));
    await bus.flush();
    await waitFor(() => seen.some((s) => s.userId === userId));
    const mine = seen.filter((s) => s.userId === userId);
    expect(mine).toEqual([{ userId, status: "online", id: w.event!.id }]);
    expect((await a.writer.write(userId, () => undefined)).record.pending_event).toBe("");
  });

  it("ends on the final status when two writers publish in the opposite order of their writes", async () => {
    const userId = newId();
    const [a, b] = [replica(), replica()];
    const first = await a.writer.write(userId, (d) => void (d.status = "online"));
    const second = await b.writer.write(userId, (d) => void (d.status = "dnd"));
    expect(second.event).toBeDefined();
    // The later change goes out first; the earlier writer is slow.
    await b.publisher.afterChange(userId, second);
    await a.publisher.afterChange(userId, first);
    await waitFor(() => seen.filter((s) => s.userId === userId).length >= 3);
    expect(seen.filter((s) => s.userId === userId).map((s) => s.status)).toEqual(["dnd", "online", "dnd"]);
  });
});
