/**
 * The attacks of the hostile-peer suite, each sized to run in a few seconds (times SCALE,
 * SB_HOSTILE_SCALE, for a longer run). Each resolves with whether the server stopped it (a
 * GOAWAY, a closed connection, refused or reset streams) and a line saying what it saw.
 */
import { connect, type Socket } from "node:net";
import { waitFor } from "@switchboard/testkit";
import { frame, PREFACE } from "../wire.js";
import {
  data,
  E,
  F,
  getStatusMessage,
  GET_STATUS,
  headers,
  HostilePeer,
  literalBlock,
  messagePrefix,
  ping,
  request,
  requestFields,
  rst,
  settings,
  T,
  windowUpdate,
} from "./peer.js";

const SCALE = Number(process.env.SB_HOSTILE_SCALE ?? 1);

export interface Outcome {
  /** The server ended the attack (the connection closed, GOAWAY, or every bad stream reset). */
  readonly stopped: boolean;
  readonly saw: string;
}

const describeEnd = (p: HostilePeer): string => (p.goaway ? `GOAWAY ${p.goaway.code} "${p.goaway.debug}"` : p.closed ? "closed without GOAWAY" : "left open");

/** Writes `count` copies of what `make(i)` gives, in batches, until done or the server closes. */
async function flood(p: HostilePeer, count: number, make: (i: number) => Buffer, batch = 1_000): Promise<number> {
  let sent = 0;
  while (sent < count && !p.closed) {
    const n = Math.min(batch, count - sent);
    const parts: Buffer[] = [];
    for (let i = 0; i < n; i++) parts.push(make(sent + i));
    await p.write(Buffer.concat(parts));
    sent += n;
  }
  return sent;
}

/** HEADERS without END_HEADERS, then empty CONTINUATION frames without END_HEADERS. */
export async function continuationFlood(port: number): Promise<Outcome> {
  const p = new HostilePeer(port);
  await p.connected;
  const block = literalBlock(requestFields());
  await p.write(headers(1, block.subarray(0, 10), 0));
  const empty = frame(T.CONTINUATION, 0, 1);
  const sent = await flood(p, 400_000 * SCALE, () => empty, 10_000);
  await p.until(() => p.closed, 2_000);
  p.destroy();
  return { stopped: p.goaway?.code === E.ENHANCE_YOUR_CALM || p.closed, saw: `${sent} CONTINUATION frames sent, ${describeEnd(p)}` };
}

/**
 * Streams that each announce a 4 MiB message and send all of it but its last byte, as fast as
 * the windows the server grants allow. The connection stays open until `release()`: what the
 * server holds for the unfinished messages must go by their deadlines alone.
 */
export async function partialMessages(port: number): Promise<Outcome & { release(): void }> {
  const streams = 30 * SCALE;
  const messageBytes = 4 << 20;
  const p = new HostilePeer(port);
  await p.connected;
  await p.until(() => p.framesSeen > 0, 2_000);
  const left = new Map<number, number>();
  for (let i = 0; i < streams; i++) {
    const id = 1 + 2 * i;
    await p.write(Buffer.concat([headers(id, literalBlock(requestFields())), data(id, messagePrefix(messageBytes - 5))]));
    p.spend(id, 5);
    left.set(id, messageBytes - 6);
  }
  const chunk = Buffer.alloc(16_384, 0x61);
  let sent = 0;
  const deadline = performance.now() + 8_000 * SCALE;
  while (left.size > 0 && !p.closed && performance.now() < deadline) {
    let progressed = false;
    for (const [id, n] of left) {
      if (p.resets.has(id)) {
        left.delete(id);
        continue;
      }
      const room = Math.min(p.connWindow, p.windowOf(id), n, chunk.length);
      if (room <= 0) continue;
      await p.write(data(id, chunk.subarray(0, room)));
      p.spend(id, room);
      sent += room;
      progressed = true;
      if (n - room === 0) left.delete(id);
      else left.set(id, n - room);
    }
    if (!progressed) {
      const seen = p.framesSeen;
      if (!(await p.until(() => p.framesSeen > seen, 1_000))) break;
    }
  }
  const reset = [...p.resets.values()].length;
  return {
    stopped: sent < streams * (messageBytes - 6),
    saw: `${(sent / (1 << 20)).toFixed(1)} MiB of ${streams} x 4 MiB taken, ${reset} streams reset, ${describeEnd(p)}`,
    release: () => p.destroy(),
  };
}

export const MADE_YOU_RESET = ["window-update-0", "window-update-overflow", "data-after-end", "trailers-without-end-stream"] as const;
export type MadeYouReset = (typeof MADE_YOU_RESET)[number];

/** How many handlers the target runs now (its IPC stats). */
export type Active = () => Promise<number>;

/**
 * Batches of complete requests for a long database query (pg_sleep), then, once their handlers
 * run (their queries started or waiting for a connection), a frame for each that ends it.
 */
async function requestsThenEnd(p: HostilePeer, count: number, active: Active, end: (id: number) => Buffer, waitForHandlers = true): Promise<number> {
  const BATCH = 100;
  let sent = 0;
  while (sent < count && !p.closed) {
    const ids = Array.from({ length: Math.min(BATCH, count - sent) }, (_, i) => 1 + 2 * (sent + i));
    const before = await active();
    await p.write(Buffer.concat(ids.map((id) => request(id, "sleep:30"))));
    if (waitForHandlers) await waitFor(async () => (await active()) > before || p.closed, { timeoutMs: 1_000, intervalMs: 5 }).catch(() => undefined);
    await p.write(Buffer.concat(ids.map(end)));
    sent += ids.length;
  }
  return sent;
}

/**
 * CVE-2025-8671: requests for a long database query, each followed (once handlers run) by a frame
 * that makes the server reset the stream itself.
 */
export async function madeYouReset(port: number, variant: MadeYouReset, active: Active): Promise<Outcome> {
  const p = new HostilePeer(port);
  await p.connected;
  let sent: number;
  if (variant === "trailers-without-end-stream") {
    // The request never ends, so no handler starts: the reset is provoked before one would.
    sent = await flood(
      p,
      3_000 * SCALE,
      (i) =>
        Buffer.concat([
          headers(1 + 2 * i, literalBlock(requestFields())),
          data(1 + 2 * i, getStatusMessage("sleep:30")),
          headers(1 + 2 * i, literalBlock([["x-trailer", "1"]])),
        ]),
      200,
    );
  } else {
    const provoke: Record<typeof variant, (id: number) => Buffer> = {
      "window-update-0": (id) => windowUpdate(id, 0),
      "window-update-overflow": (id) => windowUpdate(id, 0x7fffffff),
      "data-after-end": (id) => data(id, Buffer.from([0])),
    };
    sent = await requestsThenEnd(p, 3_000 * SCALE, active, provoke[variant]);
  }
  await p.until(() => p.closed || p.goaway !== undefined, 2_000);
  p.destroy();
  // Ending the connection (any GOAWAY) stops it too: the first provoked reset may be taken for a connection error.
  return { stopped: p.goaway !== undefined || p.closed, saw: `${sent} streams provoked, ${p.resets.size} resets seen, ${describeEnd(p)}` };
}

/** CVE-2023-44487: requests for a long database query, each cancelled by the peer once handlers run. */
export async function rapidReset(port: number, active: Active): Promise<Outcome> {
  const p = new HostilePeer(port);
  await p.connected;
  const sent = await requestsThenEnd(p, 5_000 * SCALE, active, (id) => rst(id, E.CANCEL));
  await p.until(() => p.closed || p.goaway !== undefined, 2_000);
  p.destroy();
  return { stopped: p.goaway !== undefined || p.closed, saw: `${sent} streams opened and reset, ${describeEnd(p)}` };
}

/** SETTINGS frames without end, from a peer that never reads the acks. */
export async function settingsFlood(port: number): Promise<Outcome> {
  const p = new HostilePeer(port, { read: false });
  await p.connected;
  const one = settings([[0x4, 65_535]]);
  const sent = await flood(p, 100_000 * SCALE, () => one, 2_000);
  // The peer reads nothing, so it sees the server's close only through a write: keep one
  // pending. (A flood that ended before the server's linger ran out saw nothing, and the case
  // failed on a server that had closed.)
  const nudge = setInterval(() => void p.write(one), 200);
  const closed = await p.until(() => p.closed, 6_000);
  clearInterval(nudge);
  p.destroy();
  return { stopped: closed, saw: `${sent} SETTINGS sent, ${closed ? "closed" : "left open"}` };
}

/** A header block never finished: HEADERS without END_HEADERS, then an empty CONTINUATION every `gapMs`. */
export async function unfinishedHeaderBlock(port: number, o: { gapMs: number; withinMs: number }): Promise<Outcome> {
  const p = new HostilePeer(port);
  await p.connected;
  await p.write(headers(1, literalBlock(requestFields()), 0));
  const t0 = performance.now();
  const empty = frame(T.CONTINUATION, 0, 1);
  const timer = setInterval(() => void p.write(empty), o.gapMs);
  const ended = await p.until(() => p.closed || p.goaway !== undefined, o.withinMs);
  clearInterval(timer);
  p.destroy();
  // Stopped for the block: an error, not the idle timeout's graceful GOAWAY (a connection without a stream is idle).
  return { stopped: ended && (p.goaway ? p.goaway.code !== E.NO_ERROR : p.closed), saw: `${describeEnd(p)} after ${Math.round(performance.now() - t0)} ms` };
}

/** PING frames without end while a stream is open (an unfinished request). */
export async function pingFlood(port: number): Promise<Outcome> {
  const p = new HostilePeer(port);
  await p.connected;
  await p.write(headers(1, literalBlock(requestFields())));
  const sent = await flood(p, 100_000 * SCALE, (i) => ping(i), 2_000);
  await p.until(() => p.closed || p.goaway !== undefined, 2_000);
  p.destroy();
  return { stopped: p.goaway?.code === E.ENHANCE_YOUR_CALM || p.closed, saw: `${sent} PINGs sent, ${describeEnd(p)}` };
}

type Fields = [string, string][];
const withField = (f: [string, string]): Fields => [...requestFields(), f];

/** Requests malformed by RFC 9113 §8.2-8.3, each otherwise a valid GetStatus. */
const MALFORMED: readonly { readonly name: string; readonly fields: Fields; readonly trailers?: Fields }[] = [
  { name: "upper-case name", fields: withField(["X-Upper", "1"]) },
  { name: "connection", fields: withField(["connection", "keep-alive"]) },
  { name: "transfer-encoding", fields: withField(["transfer-encoding", "chunked"]) },
  { name: "te: gzip", fields: requestFields().map(([k, v]): [string, string] => (k === "te" ? ["te", "gzip"] : [k, v])) },
  { name: "pseudo-header after a regular one", fields: [...requestFields().filter(([k]) => k !== ":authority"), [":authority", "localhost"]] },
  { name: "repeated pseudo-header", fields: [[":path", GET_STATUS], ...requestFields()] },
  { name: "unknown pseudo-header", fields: [[":foo", "bar"], ...requestFields()] },
  { name: "response pseudo-header", fields: [[":status", "200"], ...requestFields()] },
  { name: "missing :scheme", fields: requestFields().filter(([k]) => k !== ":scheme") },
  { name: "CR in a value", fields: withField(["x-a", "a\rb"]) },
  { name: "LF in a value", fields: withField(["x-a", "a\nb"]) },
  { name: "NUL in a value", fields: withField(["x-a", "a\0b"]) },
  { name: "space around a value", fields: withField(["x-a", " a "]) },
  { name: "pseudo-header in trailers", fields: requestFields(), trailers: [[":path", GET_STATUS]] },
];

/** Each malformed request on a stream of its own; how the server answered each. */
export async function malformedHeaders(port: number): Promise<Outcome & { answers: Record<string, string> }> {
  const p = new HostilePeer(port);
  await p.connected;
  const answers: Record<string, string> = {};
  let id = 1;
  for (const m of MALFORMED) {
    const msg = getStatusMessage("caller");
    const bytes = m.trailers
      ? [headers(id, literalBlock(m.fields)), data(id, msg), headers(id, literalBlock(m.trailers), F.END_HEADERS | F.END_STREAM)]
      : [headers(id, literalBlock(m.fields)), data(id, msg, F.END_STREAM)];
    await p.write(Buffer.concat(bytes));
    const sid = id;
    await p.until(() => p.resets.has(sid) || p.frames.some((f) => f.id === sid && f.type === T.HEADERS), 2_000);
    const code = p.resets.get(sid);
    answers[m.name] = code !== undefined ? `RST_STREAM ${code}` : p.frames.some((f) => f.id === sid && f.type === T.HEADERS) ? "served" : describeEnd(p);
    if (p.closed) break;
    id += 2;
  }
  p.destroy();
  const allReset = MALFORMED.every((m) => answers[m.name] === `RST_STREAM ${E.PROTOCOL_ERROR}`);
  return { stopped: allReset, saw: JSON.stringify(answers), answers };
}

/** A stream, then one with a lower id. */
export async function streamIdBackwards(port: number): Promise<Outcome> {
  const p = new HostilePeer(port);
  await p.connected;
  await p.write(request(5, "caller"));
  await p.until(() => p.frames.some((f) => f.id === 5 && f.type === T.HEADERS && f.flags & F.END_STREAM), 2_000);
  await p.write(request(3, "caller"));
  await p.until(() => p.goaway !== undefined || p.closed, 2_000);
  const servedLower = p.frames.some((f) => f.id === 3 && f.type === T.HEADERS);
  p.destroy();
  return { stopped: p.goaway?.code === E.PROTOCOL_ERROR && !servedLower, saw: `${describeEnd(p)}${servedLower ? ", stream 3 served" : ""}` };
}

function openSockets(port: number, n: number, localAddress: string, first?: Buffer): Promise<Socket[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve) => {
          const s = connect({ port, host: "127.0.0.1", localAddress });
          s.on("error", () => undefined);
          // Reads (and drops) what the server sends, so its FIN is seen.
          s.resume();
          s.once("connect", () => {
            if (first) s.write(first);
            resolve(s);
          });
          s.once("close", () => resolve(s));
        }),
    ),
  );
}

const isOpen = (s: Socket): boolean => !s.destroyed && !s.readableEnded;

/** Sockets from one address that never send the preface; all must be closed by the preface timeout. */
export async function prefaceNeverSent(port: number, o: { count: number; localAddress: string; withinMs: number }): Promise<Outcome> {
  const sockets = await openSockets(port, o.count * SCALE, o.localAddress);
  for (const s of sockets) s.on("end", () => s.destroy());
  const t0 = performance.now();
  const closed = await waitFor(() => sockets.every((s) => !isOpen(s)), { timeoutMs: o.withinMs, intervalMs: 50 }).then(
    () => true,
    () => false,
  );
  const open = sockets.filter(isOpen).length;
  for (const s of sockets) s.destroy();
  return { stopped: closed, saw: `${sockets.length} sockets; ${open} still open after ${Math.round(performance.now() - t0)} ms` };
}

/** One byte every `gapMs`: of the preface, and (on another socket) of a frame after a complete preface and SETTINGS. */
export async function slowloris(port: number, o: { gapMs: number; withinMs: number }): Promise<Outcome> {
  const [beforePreface, afterPreface] = await openSockets(port, 2, "127.0.0.1");
  const dribble = (s: Socket, bytes: Buffer): NodeJS.Timeout => {
    let i = 0;
    return setInterval(() => {
      if (isOpen(s)) s.write(bytes.subarray(i % bytes.length, (i % bytes.length) + 1));
      i++;
    }, o.gapMs);
  };
  for (const s of [beforePreface!, afterPreface!]) s.on("end", () => s.destroy());
  // After the preface: the header of a frame (of a type nobody knows) that announces 16 KiB, then its payload a byte at a time.
  afterPreface!.write(Buffer.concat([PREFACE, settings(), frame(0xfa, 0, 0, Buffer.alloc(16_384)).subarray(0, 9)]));
  const timers = [dribble(beforePreface!, PREFACE), dribble(afterPreface!, Buffer.alloc(1))];
  const closed = await waitFor(() => !isOpen(beforePreface!) && !isOpen(afterPreface!), { timeoutMs: o.withinMs, intervalMs: 50 }).then(
    () => true,
    () => false,
  );
  for (const t of timers) clearInterval(t);
  const saw = `before the preface: ${isOpen(beforePreface!) ? "open" : "closed"}, after it: ${isOpen(afterPreface!) ? "open" : "closed"}`;
  beforePreface!.destroy();
  afterPreface!.destroy();
  return { stopped: closed, saw };
}

/** `count` well-formed but idle connections from one address; no more than `cap` may stay open. */
export async function connectionCap(port: number, o: { count: number; cap: number; localAddress: string }): Promise<Outcome & { release(): void }> {
  const sockets = await openSockets(port, o.count * SCALE, o.localAddress, Buffer.concat([PREFACE, settings()]));
  for (const s of sockets) s.on("end", () => s.destroy());
  // The server closes the ones over the cap at once; give the closes a moment to arrive.
  await waitFor(() => sockets.filter(isOpen).length <= o.cap, { timeoutMs: 2_000, intervalMs: 50 }).catch(() => undefined);
  const open = sockets.filter(isOpen).length;
  return { stopped: open <= o.cap, saw: `${sockets.length} connections, ${open} kept open`, release: () => sockets.forEach((s) => s.destroy()) };
}
