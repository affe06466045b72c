/**
 * Keeps the PresenceCache current: a KV watch over the whole bucket, primed at start (a probe
 * written after the watch began marks the point where every earlier value has arrived), then
 * probed periodically. A probe that does not come back through the watch in time means the
 * watch is stuck: the replica turns not-ready, restarts the watch and becomes ready again
 * once a probe passes.
 */
import type { KvWatch } from "@switchboard/bus";
import type { Component } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import type { PresenceMetrics } from "../metrics.js";
import type { PresenceCache } from "./presence-cache.js";
import type { PresenceKv } from "./presence-kv.js";

const PRIME_TIMEOUT_MS = 60_000;

export function cacheSyncComponent(o: {
  kv: PresenceKv;
  cache: PresenceCache;
  replicaId: string;
  probeIntervalMs: number;
  metrics: PresenceMetrics;
  log: Logger;
  setReady: (ok: boolean) => void;
  /** Test-only: every watched entry is applied this many ms late (watch-lag.ts). */
  lagMs?: number;
}): Component {
  const log = o.log.child({ part: "cache-sync" });
  let watch: KvWatch | undefined;
  let timer: NodeJS.Timeout | undefined;
  let nonce = 0;
  let probing = false;
  let stopped = false;

  /** True when a fresh write came back through the watch within timeoutMs. */
  async function probe(timeoutMs: number): Promise<boolean> {
    const started = performance.now();
    const revision = await o.kv.putProbe(o.replicaId, ++nonce);
    let timeout: NodeJS.Timeout | undefined;
    const arrived = await Promise.race([
      o.cache.waitForRevision(revision).then(() => true),
      new Promise<boolean>((r) => (timeout = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timeout);
    if (arrived) o.metrics.watchLag((performance.now() - started) / 1000);
    return arrived;
  }

  async function startWatch(): Promise<void> {
    const lag = o.lagMs ?? 0;
    watch = await o.kv.watch(lag > 0 ? (e) => void setTimeout(() => o.cache.applyEntry(e), lag) : (e) => o.cache.applyEntry(e));
  }

  async function check(): Promise<void> {
    if (probing || stopped) return;
    probing = true;
    try {
      let ok = false;
      try {
        ok = await probe(Math.max(2 * o.probeIntervalMs, 5_000));
      } catch (e: unknown) {
        log.warn({ err: e }, "watch probe failed");
      }
      if (ok || stopped) {
        o.setReady(true);
        return;
      }
      o.setReady(false);
      log.warn({}, "kv watch stuck: restarting it");
      o.metrics.watchRestarted();
      watch?.stop();
      await startWatch();
      if (await probe(PRIME_TIMEOUT_MS)) o.setReady(true);
    } catch (e: unknown) {
      log.warn({ err: e }, "kv watch restart failed");
    } finally {
      probing = false;
    }
  }

  return {
    name: "cache-sync",
    async start() {
      o.setReady(false);
      const started = Date.now();
      await startWatch();
      if (!(await probe(PRIME_TIMEOUT_MS))) throw new Error("the presence KV watch did not catch up");
      log.info({ users: o.cache.userCount, open_leases: o.cache.openLeaseCount, ms: Date.now() - started }, "status cache primed");
      o.setReady(true);
      timer = setInterval(() => void check(), o.probeIntervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      watch?.stop();
      // Best effort: the probe key is only a liveness marker.
      await o.kv.deleteProbe(o.replicaId).catch(() => undefined);
    },
  };
}
