/**
 * JetStream: the durable path. Services publish every event with its id as Nats-Msg-Id, so a
 * re-publish within the duplicate window is stored once (durable-publish.ts); readers replay a
 * subject from a point in the stream.
 */
import {
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos, TimeoutError } from "@nats-io/transport-node";
import { natsConnectionOf, type Bus } from "./bus.js";
import { streams } from "./contracts/index.js";

/** JetStream API error codes (err_code, as nats-server numbers them) this module tells apart. */
const JsApiCode = {
  /** JSStreamNameExistErr: "stream name already in use with a different configuration". */
  StreamNameInUse: 10058,
  /** JSStreamNotFoundErr. */
  StreamNotFound: 10059,
  /** JSSequenceNotFoundErrF: "sequence N not found" (a message already gone). */
  SequenceNotFound: 10043,
} as const;

/** True for a JetStream API error with this err_code. */
export function isJsApiError(e: unknown, code: number): boolean {
  return e instanceof JetStreamApiError && e.code === code;
}

/** The stream does not exist (a read of a stream nobody created yet). */
export const isStreamNotFound = (e: unknown): boolean => isJsApiError(e, JsApiCode.StreamNotFound);

export interface StreamSpec {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly maxAgeMs: number;
  readonly duplicateWindowMs: number;
  readonly storage: "file" | "memory";
  readonly replicas?: number;
  readonly maxBytes?: number;
}

/** The event stream: short retention (replay for resumes and NATS reconnects), 2 min dedupe. */
export function eventStreamSpec(o: { maxAgeMs: number; storage?: "file" | "memory"; replicas?: number }): StreamSpec {
  return {
    name: streams.events.name,
    subjects: streams.events.subjects,
    maxAgeMs: o.maxAgeMs,
    duplicateWindowMs: Math.min(120_000, o.maxAgeMs),
    storage: o.storage ?? "file",
    ...(o.replicas ? { replicas: o.replicas } : {}),
  };
}

/** Session control (revocations): kept long enough for a restarted verifier to catch up. */
export function controlStreamSpec(o: { maxAgeMs: number; storage?: "file" | "memory"; replicas?: number }): StreamSpec {
  return {
    name: streams.control.name,
    subjects: streams.control.subjects,
    maxAgeMs: o.maxAgeMs,
    duplicateWindowMs: Math.min(120_000, o.maxAgeMs),
    storage: o.storage ?? "file",
    ...(o.replicas ? { replicas: o.replicas } : {}),
  };
}

const managers = new WeakMap<Bus, Promise<JetStreamManager>>();
const clients = new WeakMap<Bus, JetStreamClient>();

function jsm(bus: Bus): Promise<JetStreamManager> {
  let m = managers.get(bus);
  if (!m) {
    m = jetstreamManager(natsConnectionOf(bus));
    managers.set(bus, m);
    m.catch(() => managers.delete(bus));
  }
  return m;
}

function js(bus: Bus): JetStreamClient {
  let c = clients.get(bus);
  if (!c) {
    c = jetstream(natsConnectionOf(bus));
    clients.set(bus, c);
  }
  return c;
}

/**
 * Creates the stream, or updates it to this spec; safe for replicas starting together. Only
 * the stream's owner calls this (its NATS user alone may create and update it); the others
 * wait for it (waitForStream). Resolves to true when this call created it.
 */
export async function ensureStream(bus: Bus, spec: StreamSpec): Promise<boolean> {
  // On a NATS cluster a request racing another replica's create of the same stream can go
  // unanswered; by the next attempt the stream exists.
  for (let attempt = 1; ; attempt++) {
    try {
      return await ensureStreamOnce(bus, spec);
    } catch (e: unknown) {
      if (!(e instanceof TimeoutError) || attempt >= ENSURE_ATTEMPTS) throw e;
    }
  }
}

const ENSURE_ATTEMPTS = 3;

async function ensureStreamOnce(bus: Bus, spec: StreamSpec): Promise<boolean> {
  const m = await jsm(bus);
  const cfg: Partial<StreamConfig> & { name: string } = {
    name: spec.name,
    subjects: [...spec.subjects],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    storage: spec.storage === "memory" ? StorageType.Memory : StorageType.File,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
    num_replicas: spec.replicas ?? 1,
    ...(spec.maxBytes ? { max_bytes: spec.maxBytes } : {}),
  };
  try {
    const current = (await m.streams.info(spec.name)).config;
    // Nothing to change: no update. On a NATS cluster (2.9) an update that races the stream's
    // creation by another replica leaves both requests unanswered.
    if (sameStreamConfig(current, cfg)) return false;
  } catch (e: unknown) {
    if (!isStreamNotFound(e)) throw e;
    try {
      await m.streams.add(cfg);
      return true;
    } catch (e: unknown) {
      // Another process created it between our info and add: fall through to update.
      if (!isJsApiError(e, JsApiCode.StreamNameInUse)) throw e;
    }
  }
  await m.streams.update(spec.name, cfg);
  return false;
}

/**
 * Waits until a stream another component owns exists (its owner creates it), asking every
 * `intervalMs`; `onWait` hears of each miss (to log it). Never gives up: the caller is not
 * ready until the stream is there.
 */
export async function waitForStream(bus: Bus, name: string, o: { intervalMs?: number; onWait?: (attempt: number) => void } = {}): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await (await jsm(bus)).streams.info(name);
      return;
    } catch (e: unknown) {
      if (!isStreamNotFound(e) && !(e instanceof TimeoutError)) throw e;
    }
    o.onWait?.(attempt);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 500));
  }
}

/** The settings ensureStream sets are the stream's already. */
function sameStreamConfig(current: StreamConfig, want: Partial<StreamConfig>): boolean {
  const sameSubjects = [...(current.subjects ?? [])].sort().join(" ") === [...(want.subjects ?? [])].sort().join(" ");
  return (
    sameSubjects &&
    current.retention === want.retention &&
    current.discard === want.discard &&
    current.storage === want.storage &&
    current.max_age === want.max_age &&
    current.duplicate_window === want.duplicate_window &&
    current.num_replicas === want.num_replicas &&
    (current.max_bytes ?? -1) === (want.max_bytes ?? -1)
  );
}

export interface StreamMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Position in the stream. */
  readonly seq: number;
  /** When the stream stored it, Unix ms. */
  readonly timeMs: number;
  header(name: string): string | undefined;
}

function toStreamMessage(m: JsMsg): StreamMessage {
  return {
    subject: m.subject,
    data: m.data,
    seq: m.seq,
    timeMs: m.time.getTime(),
    header: (name) => (m.headers?.has(name) ? m.headers.get(name) : undefined),
  };
}

export type StreamStart = { readonly seq: number } | { readonly timeMs: number } | "all" | "new";

function startOptions(start: StreamStart) {
  if (start === "all") return { deliver_policy: DeliverPolicy.All };
  if (start === "new") return { deliver_policy: DeliverPolicy.New };
  if ("seq" in start) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, start.seq) };
  return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(start.timeMs).toISOString() };
}

// One subject goes as `filter_subject`: nats-server before 2.10 (Debian's 2.9) has no list form.
function filterOptions(filter: readonly string[] | undefined): { filter_subjects?: string | string[] } {
  if (!filter || filter.length === 0) return {};
  return { filter_subjects: filter.length === 1 ? filter[0]! : [...filter] };
}

export interface StreamReader {
  stop(): Promise<void>;
}

/**
 * Follows a stream (an ordered consumer: gap-free, recreated by the client after reconnects)
 * from `start`, calling onMessage for each message in stream order, until stopped.
 */
export async function followStream(
  bus: Bus,
  o: { stream: string; filterSubjects?: readonly string[]; start: StreamStart; onMessage: (m: StreamMessage) => void },
): Promise<StreamReader> {
  const consumer = await js(bus).consumers.get(o.stream, {
    ...filterOptions(o.filterSubjects),
    ...startOptions(o.start),
  });
  const messages = await consumer.consume({ callback: (m) => o.onMessage(toStreamMessage(m)) });
  return {
    async stop() {
      await messages.close();
    },
  };
}

/**
 * Reads a bounded range: from `start` up to the stream's last message at the time of the
 * call (messages stored after the call are not waited for).
 */
export async function readStreamRange(
  bus: Bus,
  o: { stream: string; filterSubjects?: readonly string[]; start: StreamStart; maxMessages?: number },
): Promise<StreamMessage[]> {
  const m = await jsm(bus);
  const info = await m.streams.info(o.stream);
  const lastSeq = info.state.last_seq;
  const out: StreamMessage[] = [];
  if (info.state.messages === 0) return out;
  const consumer = await js(bus).consumers.get(o.stream, {
    ...filterOptions(o.filterSubjects),
    ...startOptions(o.start),
  });
  const max = o.maxMessages ?? 100_000;
  let pending = (await consumer.info(false)).num_pending;
  while (pending > 0 && out.length < max) {
    const batch = await consumer.fetch({ max_messages: Math.min(pending, 1000, max - out.length), expires: 5_000 });
    let got = 0;
    for await (const msg of batch) {
      got++;
      pending = msg.info.pending;
      if (msg.seq > lastSeq) {
        pending = 0;
        break;
      }
      out.push(toStreamMessage(msg));
    }
    if (got === 0) break;
  }
  await consumer.delete().catch(() => undefined);
  return out;
}

export interface StreamState {
  readonly messages: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** When the first message still held was stored, Unix ms (0 when none is held). */
  readonly firstTimeMs: number;
  /** When the last message was stored, Unix ms (0 when unknown: never, or forgotten by a purge). */
  readonly lastTimeMs: number;
  /** When the stream was created, Unix ms: a stream deleted and created again is newer than what was in it. */
  readonly createdMs: number;
  /** Replicas configured, and those caught up (the leader included). */
  readonly replicas: number;
  readonly currentReplicas: number;
  /** The server_name of the node leading it ("" on a single server). */
  readonly leader: string;
}

/** A timestamp of the JetStream API; Go's zero time (and anything before 1970) means none. */
function apiTime(ts: string | undefined): number {
  const t = ts ? Date.parse(ts) : NaN;
  return Number.isFinite(t) && t > 0 ? t : 0;
}

export async function streamState(bus: Bus, name: string): Promise<StreamState> {
  const info = await (await jsm(bus)).streams.info(name);
  return {
    leader: info.cluster?.leader ?? "",
    replicas: info.config.num_replicas,
    // The leader and the followers that are caught up (all of them on a healthy cluster).
    currentReplicas: info.cluster ? 1 + (info.cluster.replicas ?? []).filter((r) => r.current && !r.offline).length : 1,
    messages: info.state.messages,
    firstSeq: info.state.first_seq,
    lastSeq: info.state.last_seq,
    firstTimeMs: info.state.messages > 0 ? apiTime(info.state.first_ts) : 0,
    lastTimeMs: apiTime(info.state.last_ts),
    createdMs: apiTime(info.created),
  };
}

/**
 * Removes one message from a stream (fault injection: a stand-in for a store that lost an
 * acknowledged write). Resolves to false when there was no such message.
 */
export async function deleteStreamMessage(bus: Bus, name: string, seq: number): Promise<boolean> {
  try {
    return await (await jsm(bus)).streams.deleteMessage(name, seq, false);
  } catch (e: unknown) {
    if (isJsApiError(e, JsApiCode.SequenceNotFound)) return false;
    throw e;
  }
}

/** Removes every message of a stream, or of one subject of it (fault injection: a store that lost them). */
export async function purgeStream(bus: Bus, name: string, subject?: string): Promise<number> {
  return (await (await jsm(bus)).streams.purge(name, subject ? { filter: subject } : undefined)).purged;
}
