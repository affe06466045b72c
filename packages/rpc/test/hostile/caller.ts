/**
 * A well-behaved caller that keeps calling while an attack runs: a few GetStatus calls in
 * flight at all times (each a database read on the target), every one with a deadline, on the
 * package's own client. It counts answers and errors (a deadline passed is an error) and the
 * latency of each answer.
 */
import { PresenceService } from "@switchboard/proto/presence";
import { createRpcClient } from "../../src/index.js";

const IN_FLIGHT = 4;
const DEADLINE_MS = 3_000;

export interface CallerReport {
  readonly answers: number;
  readonly errors: string[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface Caller {
  /** Answers so far. */
  readonly answers: number;
  stop(): Promise<CallerReport>;
}

export function startCaller(port: number): Caller {
  const client = createRpcClient(PresenceService, { address: `127.0.0.1:${port}`, defaultDeadlineMs: DEADLINE_MS });
  const latencies: number[] = [];
  const errors: string[] = [];
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      const t0 = performance.now();
      try {
        const r = await client.getStatus({ userId: "caller" });
        if (r.status?.status !== "online") errors.push(`wrong answer ${JSON.stringify(r.status)}`);
        else latencies.push(performance.now() - t0);
      } catch (e: unknown) {
        errors.push(`${String(e)} after ${Math.round(performance.now() - t0)} ms`);
      }
    }
  };
  const loops = Array.from({ length: IN_FLIGHT }, loop);
  return {
    get answers() {
      return latencies.length;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      client.close();
      const s = [...latencies].sort((a, b) => a - b);
      const at = (q: number): number => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0);
      return { answers: s.length, errors, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: Math.round(s[s.length - 1] ?? 0) };
    },
  };
}
