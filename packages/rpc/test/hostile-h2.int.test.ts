/**
 * The hostile-peer suite: attacks on the HTTP/2 layer of both gRPC servers (our own h2 and
 * @grpc/grpc-js's, behind the same seam), each against a server in a process of its own
 * (test/hostile/target-server.mjs) whose handler queries a real PostgreSQL database, while a
 * well-behaved caller keeps calling it. For every case and transport:
 *   - the server's peak RSS during the attack stays under 50 MB above its baseline;
 *   - within 10 s after the attack its RSS (after a full GC) is back within 10 MB of baseline;
 *   - the caller gets every answer, none an error or past its deadline;
 *   - the server stopped the attack (what that means is the case's: GOAWAY, closed, reset).
 * A table of the figures is printed at the end. SB_HOSTILE_SCALE=n makes the attacks n times larger.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, waitFor, type TestDatabase } from "@switchboard/testkit";
import type { RpcServerTransport } from "../src/index.js";
import {
  connectionCap,
  continuationFlood,
  MADE_YOU_RESET,
  madeYouReset,
  malformedHeaders,
  partialMessages,
  pingFlood,
  prefaceNeverSent,
  rapidReset,
  settingsFlood,
  slowloris,
  streamIdBackwards,
  unfinishedHeaderBlock,
  type Outcome,
} from "./hostile/attacks.js";
import { startCaller, type CallerReport } from "./hostile/caller.js";
import { MB, startTarget, type Stats, type Target } from "./hostile/target.js";

const PEAK_LIMIT = 50 * MB;
const RECOVERED_LIMIT = 10 * MB;
const RECOVERY_MS = 10_000;
const WARM_UP_ANSWERS = 300;
/** Handlers a connection may have running (SB_RPC_H2_MAX_CONCURRENT_STREAMS below), plus the caller's. */
const MAX_STREAMS = 100;
const PER_PEER = 64;
const PREFACE_TIMEOUT_MS = 1_000;
const IDLE_TIMEOUT_MS = 2_000;
const HEADER_BLOCK_TIMEOUT_MS = 1_000;

/** The targets' settings: short timeouts so the cases that wait for them run in seconds. */
const TARGET_ENV = {
  SB_RPC_H2_MAX_CONCURRENT_STREAMS: String(MAX_STREAMS),
  SB_RPC_H2_MAX_CONNECTIONS_PER_PEER: String(PER_PEER),
  SB_RPC_H2_PREFACE_TIMEOUT_MS: String(PREFACE_TIMEOUT_MS),
  SB_RPC_H2_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
  SB_RPC_H2_HEADER_BLOCK_TIMEOUT_MS: String(HEADER_BLOCK_TIMEOUT_MS),
  DEFAULT_DEADLINE_MS: "3000",
};

interface Case {
  readonly name: string;
  readonly attack: (t: Target) => Promise<Outcome & { release?(): void }>;
  /** Handlers on the attacking connection must not outnumber the stream limit, and must end soon after it (their queries cancelled). */
  readonly handlers?: boolean;
}

const active = (t: Target) => async () => (await t.stats(false)).active;

const CASES: Case[] = [
  { name: "CONTINUATION flood", attack: (t) => continuationFlood(t.port) },
  {
    name: "header block never finished",
    attack: (t) => unfinishedHeaderBlock(t.port, { gapMs: 300, withinMs: HEADER_BLOCK_TIMEOUT_MS + 2_000 }),
  },
  { name: "partial messages", attack: (t) => partialMessages(t.port) },
  ...MADE_YOU_RESET.map((v): Case => ({ name: `MadeYouReset: ${v}`, attack: (t) => madeYouReset(t.port, v, active(t)), handlers: true })),
  { name: "rapid reset", attack: (t) => rapidReset(t.port, active(t)), handlers: true },
  { name: "SETTINGS flood", attack: (t) => settingsFlood(t.port) },
  { name: "PING flood with a stream open", attack: (t) => pingFlood(t.port) },
  { name: "malformed headers (RFC 9113 §8.2-8.3)", attack: (t) => malformedHeaders(t.port) },
  { name: "stream id going backwards", attack: (t) => streamIdBackwards(t.port) },
  {
    name: "preface never sent",
    attack: (t) => prefaceNeverSent(t.port, { count: 300, localAddress: "127.0.0.3", withinMs: PREFACE_TIMEOUT_MS + 3_000 }),
  },
  { name: "slowloris, a byte at a time", attack: (t) => slowloris(t.port, { gapMs: 200, withinMs: IDLE_TIMEOUT_MS + 3_000 }) },
  { name: "connection cap", attack: (t) => connectionCap(t.port, { count: 300, cap: PER_PEER, localAddress: "127.0.0.4" }) },
];

interface Row {
  transport: RpcServerTransport;
  name: string;
  peakMb: number;
  afterMb: number;
  heapAfterMb: number;
  caller: CallerReport;
  outcome: string;
  maxActive: number;
  failures: string[];
}
const rows: Row[] = [];
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase("sb_hostile");
});

afterAll(async () => {
  await db?.drop();
  const line = (r: Row): string =>
    `${r.transport.padEnd(8)}| ${r.name.padEnd(42)}| peak +${r.peakMb.toFixed(1)} MB | after +${r.afterMb.toFixed(1)} MB (heap +${r.heapAfterMb.toFixed(1)}) | caller ${r.caller.answers} answers, ${r.caller.errors.length} errors, p50 ${r.caller.p50Ms} ms, p99 ${r.caller.p99Ms} ms, max ${r.caller.maxMs} ms | handlers max ${r.maxActive} | ${r.failures.length ? `FAILS: ${r.failures.join(", ")}` : "passes"} | ${r.outcome}`;
  console.log(`hostile-peer suite (scale ${process.env.SB_HOSTILE_SCALE ?? 1}):\n${rows.map(line).join("\n")}`);
});

async function runCase(transport: RpcServerTransport, c: Case): Promise<void> {
  const t = await startTarget(transport, db.url, TARGET_ENV);
  try {
    const caller = startCaller(t.port);
    // The baseline is taken once the target has served a while: its heap has grown to what
    // the caller's traffic alone needs, so growth after that is the attack's.
    await waitFor(() => caller.answers >= WARM_UP_ANSWERS, { timeoutMs: 20_000, what: "the caller's first answers" });
    const baseStats = await t.stats(true);
    const base = baseStats.rss;
    await t.resetMax();
    const peakOf = t.sampleRss();
    const outcome = await c.attack(t);
    const peak = peakOf();
    let during: Stats = await t.stats(false);
    if (c.handlers) {
      // Their queries are cancelled: every handler of the attack ends soon, not when pg_sleep(30) would.
      during = await waitFor(
        async () => {
          const s = await t.stats(false);
          return s.active <= 4 && s;
        },
        { timeoutMs: 5_000, what: "the attack's handlers to end" },
      ).catch(() => during);
    }
    let after = Infinity;
    await waitFor(
      async () => {
        after = (await t.stats(true)).rss;
        return after <= base + RECOVERED_LIMIT;
      },
      { timeoutMs: RECOVERY_MS, intervalMs: 250 },
    ).catch(() => undefined);
    // The JS heap after the attack (against RSS: what live objects hold, and what the allocator keeps).
    const heapAfter = (await t.stats(true)).heapUsed - baseStats.heapUsed;
    outcome.release?.();
    const report = await caller.stop();
    const failures: string[] = [];
    if (!outcome.stopped) failures.push(`the server did not stop the attack`);
    if (peak - base >= PEAK_LIMIT) failures.push(`peak RSS +${((peak - base) / MB).toFixed(1)} MB`);
    if (after - base >= RECOVERED_LIMIT) failures.push(`RSS +${((after - base) / MB).toFixed(1)} MB ${RECOVERY_MS / 1000} s after the attack`);
    if (report.errors.length > 0) failures.push(`the caller's errors: ${report.errors.slice(0, 3).join("; ")}`);
    if (c.handlers && during.maxActive > MAX_STREAMS + 4) failures.push(`${during.maxActive} handlers running at once`);
    if (c.handlers && during.active > 4) failures.push(`${during.active} handlers still running after the attack`);
    rows.push({
      transport,
      name: c.name,
      peakMb: (peak - base) / MB,
      afterMb: (after - base) / MB,
      heapAfterMb: heapAfter / MB,
      caller: report,
      outcome: outcome.saw,
      maxActive: during.maxActive,
      failures,
    });
    expect(failures, outcome.saw).toEqual([]);
  } finally {
    await t.stop();
  }
}

/**
 * What the grpc-js server does not pass, as measured (docs/hostile-peers.md): "fails" cases failed
 * every run and are kept as expected failures (one that starts passing turns red, to be moved);
 * "unsettled" ones passed in some runs and not others, and run only with SB_HOSTILE_ALL=1.
 * Our own h2 server must pass every case.
 */
const GRPC_JS_GAPS: Record<string, "fails" | "unsettled"> = {
  // grpc-js has no deadline for a header block: nghttp2's CONTINUATION count ended it (GOAWAY 2 after
  // 2.8 s at one frame per 300 ms, in time only by the attack's pace); with SB_RPC_H2_IDLE_TIMEOUT_MS
  // as grpc.max_connection_idle_ms (which slowloris needs) the idle GOAWAY NO_ERROR comes first, at 2.0 s.
  // Unsettled, not failing: the idle timeout's graceful GOAWAY (2.0 s) races nghttp2's CONTINUATION
  // limit (~2.7 s); a clean-clone run saw the limit win (GOAWAY 2 after 2,721 ms), which fails an it.fails.
  "header block never finished": "unsettled",
  "MadeYouReset: trailers-without-end-stream": "unsettled",
  "rapid reset": "unsettled",
  "SETTINGS flood": "unsettled",
};
const ALL = process.env.SB_HOSTILE_ALL === "1";

describe.each(["h2", "grpc-js"] as const)("hostile peers against the %s server", (transport) => {
  for (const c of CASES) {
    const gap = transport === "grpc-js" && !ALL ? GRPC_JS_GAPS[c.name] : undefined;
    const test = gap === "fails" ? it.fails : gap === "unsettled" ? it.skip : it;
    test(c.name, () => runCase(transport, c), 60_000);
  }
});
