/** Parent side of the load client: forks it, opens connections, polls delivery counts. */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { LedgerGroups, LedgerOrder, LedgerSummary } from "../completeness.js";

interface OpenOptions {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>[];
  /** Check each connection's event seq runs 0, 1, 2, ... (see load-client.ts). */
  checkSeq?: boolean;
  /** Keep, per connection, hellos, connection ids, post ids, closes and reconnects (see `report`); implies checkSeq. */
  record?: boolean;
  /**
   * Reconnect after a close as the stock Mattermost client does, resuming with connection_id
   * and sequence_number: after `delayMs` (3,000) plus up to `jitterMs` (2,000), on `ports`
   * (connection i on ports[i % n], the next one after a failed attempt).
   */
  reconnect?: { ports: number[]; delayMs?: number; jitterMs?: number };
  /** Speak Socket.IO's wire protocol (engine.io v4, websocket transport; see load-client.ts). */
  socketIo?: boolean;
}

interface Counts {
  /** Text frames received: all of them, `posted` events only, and the fewest on one connection. */
  total: number;
  posted: number;
  min: number;
  /** Events whose seq was not their connection's next one (with checkSeq). */
  seqErrors: number;
  /** With record: hellos received, connections closed at least once, and those of them whose latest reconnect has received a frame. */
  hellos: number;
  closed: number;
  back: number;
}

/** A reconnect after a close; times are Date.now() milliseconds, 0 when it has not happened. */
interface ResumeRecord {
  port: number;
  closedAt: number;
  dialAt: number;
  upgradeAt: number;
  firstFrameAt: number;
  /** The first frame was a hello: a new connection, not a resume. */
  hello: boolean;
}

export interface ConnectionRecord {
  hellos: number;
  connectionIds: string[];
  seqErrors: number;
  /** The seq the next event would carry (events received since the last hello). */
  events: number;
  /** Indexes into the report's postIds, in arrival order. */
  posts: number[];
  closes: { at: number; code: number }[];
  resumes: ResumeRecord[];
  dialFailures: number;
  open: boolean;
}

export interface Report {
  postIds: string[];
  /** In the order the connections were opened. */
  conns: ConnectionRecord[];
}

/** A fault the client makes on purpose in the next burst (tests of the completeness check). */
export interface BurstFault {
  kind: "drop" | "swap" | "duplicate";
  /** The connection (in the order opened) and its burst delivery (1-based): dropped, delivered after the next one, or twice. */
  connection: number;
  at: number;
}

export interface LoadClient {
  readonly pid: number;
  /** Opens the connections; `onOpened` hears how many are open as batches complete. */
  open(o: OpenOptions, onOpened?: (count: number) => void): Promise<{ count: number; ms: number }>;
  /**
   * The ids of the next burst's posts, in publish order: every connection must get each once,
   * in that order (with `order: "agreed"`: in one order, the same on every connection; with
   * `groups`: each connection only its group's, completeness.ts).
   */
  expect(ids: readonly string[], fault?: BurstFault, o?: { timed?: boolean; byPendingId?: boolean; order?: LedgerOrder; groups?: LedgerGroups }): Promise<void>;
  /** After `expect(…, { timed: true })`: when each connection first got each post, `[conn * ids + k]` (ms, performance.timeOrigin based; 0: never). */
  arrivals(): Promise<Float64Array>;
  /** What the connections received of the burst given to `expect`. */
  ledger(): Promise<LedgerSummary>;
  count(): Promise<Counts>;
  /** Stops reading these connections (numbered in the order opened), or starts again. */
  pause(connections: readonly number[]): Promise<void>;
  resume(connections: readonly number[]): Promise<void>;
  report(): Promise<Report>;
  close(): Promise<void>;
}

/** The stock client's minWebSocketRetryTime and reconnectJitterRange. */
export const STOCK_RECONNECT_DELAY_MS = 3_000;
export const STOCK_RECONNECT_JITTER_MS = 2_000;

export async function startLoadClient(o: { cpu?: number } = {}): Promise<LoadClient> {
  const entry = fileURLToPath(new URL("./load-client.js", import.meta.url));
  const child: ChildProcess =
    o.cpu !== undefined
      ? fork(entry, [], { execPath: "taskset", execArgv: ["-c", String(o.cpu), process.execPath], stdio: ["ignore", "inherit", "inherit", "ipc"] })
      : fork(entry, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const next = <T>(type: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const on = (m: { type: string; error?: string }) => {
        if (m.type === type) {
          child.off("message", on);
          resolve(m as T);
        } else if (m.type === "error") {
          child.off("message", on);
          reject(new Error(m.error));
        }
      };
      child.on("message", on);
    });
  await next("ready");
  return {
    pid: child.pid!,
    async open(req, onOpened) {
      const progress = (m: { type: string; count?: number }) => {
        if (m.type === "opening") onOpened?.(m.count!);
      };
      child.on("message", progress);
      const reconnect = req.reconnect && {
        ports: req.reconnect.ports,
        delayMs: req.reconnect.delayMs ?? STOCK_RECONNECT_DELAY_MS,
        jitterMs: req.reconnect.jitterMs ?? STOCK_RECONNECT_JITTER_MS,
      };
      child.send({ type: "open", ...req, reconnect });
      try {
        return await next("opened");
      } finally {
        child.off("message", progress);
      }
    },
    async expect(ids, fault, eo) {
      child.send({
        type: "expect",
        ids,
        fault,
        timed: eo?.timed === true,
        byPendingId: eo?.byPendingId === true,
        order: eo?.order ?? "publish",
        groups: eo?.groups,
      });
      await next("expecting");
    },
    async arrivals() {
      child.send({ type: "arrivals" });
      const m = await next<{ at?: number[] }>("arrivals");
      if (!m.at) throw new Error("no burst was expected");
      return Float64Array.from(m.at);
    },
    async ledger() {
      child.send({ type: "ledger" });
      const m = await next<{ summary?: LedgerSummary }>("ledger");
      if (!m.summary) throw new Error("no burst was expected");
      return m.summary;
    },
    async count() {
      child.send({ type: "count" });
      return next("count");
    },
    async pause(connections) {
      child.send({ type: "pause", connections });
      await next("paused");
    },
    async resume(connections) {
      child.send({ type: "resume", connections });
      await next("resumed");
    },
    async report() {
      child.send({ type: "report" });
      return next("report");
    },
    async close() {
      if (child.exitCode !== null) return;
      child.send({ type: "close" });
      await new Promise((r) => child.once("exit", r));
    },
  };
}
