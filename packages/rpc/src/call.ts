/**
 * One gRPC call on an HTTP/2 stream (the gRPC over HTTP/2 protocol): the request's metadata and
 * deadline, length-prefixed messages in, and the answer out as response headers, messages and
 * a status in trailers (or trailers alone when nothing else was sent).
 */
import { status as Status } from "@grpc/grpc-js";
import type { PayloadWriter, ServerStream } from "./h2/connection.js";
import { encodeHeaders, encodedLength } from "./h2/hpack.js";
import type { MessageWriter } from "./message-writer.js";

type Fields = readonly (readonly [string, string])[];

/** A header block in HPACK form (no dynamic table: see hpack.ts). */
export function headerBlock(fields: Fields): Buffer {
  const b = Buffer.allocUnsafe(encodedLength(fields));
  encodeHeaders(fields, b, 0);
  return b;
}

const RESPONSE_FIELDS: Fields = [
  [":status", "200"],
  ["content-type", "application/grpc"],
];
const RESPONSE_HEADERS = headerBlock(RESPONSE_FIELDS);
const OK_TRAILERS = headerBlock([["grpc-status", "0"]]);
const OK_TRAILERS_ONLY = headerBlock([...RESPONSE_FIELDS, ["grpc-status", "0"]]);

/** A call's final status; metadata goes into the trailers (lower-case keys). */
export interface CallStatus {
  readonly code: Status;
  readonly details?: string;
  readonly metadata?: Fields;
}

/**
 * grpc-message is percent-encoded: bytes outside printable ASCII, and '%', as %XX of their
 * UTF-8 encoding (the gRPC HTTP/2 protocol document).
 */
function encodeGrpcMessage(s: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(s)) return s;
  let out = "";
  for (const byte of Buffer.from(s, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };

/** grpc-timeout ("1 to 8 digits" and a unit) in ms; undefined when absent, NaN when malformed. */
export function parseGrpcTimeout(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  return m ? Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]! : NaN;
}

/** A message behind gRPC's length prefix (no compression). */
class FramedMessage implements PayloadWriter {
  constructor(private readonly message: MessageWriter) {}

  writeTo(out: Buffer, at: number): number {
    out[at] = 0;
    out.writeUInt32BE(this.message.length, at + 1);
    return this.message.writeTo(out, at + 5);
  }
}

/**
 * One call as a method sees it, whichever server carries it (server.ts): its metadata and
 * deadline, request messages in, answers and a final status out.
 */
export interface ServerCall {
  /** Absolute deadline (Unix ms); Infinity when the caller set none and the server applies its default from now. */
  readonly deadline: number;
  /** The deadline is the server's default (counted from when the call began), not the caller's. */
  readonly deadlineByDefault?: boolean;
  /** "address:port" of the caller. */
  readonly peer: string;
  /** Set by the method: each complete request message (bidi methods). */
  onMessage: ((msg: Buffer) => void) | undefined;
  /** Set by the method: the caller has sent its last message (bidi methods). */
  onHalfClose: (() => void) | undefined;
  /** Set by the method: the call ended without an answer (cancelled, or the connection lost). */
  onCancel: (() => void) | undefined;
  readonly isDone: boolean;
  /** The first value of a metadata key (lower-case). */
  metadata(key: string): string | undefined;
  /** Sends one response message; one over the message limit ends the call with RESOURCE_EXHAUSTED. */
  send(msg: Uint8Array): void;
  /** Sends one response message its writer produces (message-writer.ts); throws when the writer miscounts. */
  sendWith(writer: MessageWriter): void;
  /** Ends the call with a status (after the messages sent). */
  finish(s: CallStatus): void;
  /**
   * The method's work for the call is done (its promise settled), whether or not the call was
   * answered or cancelled first: until then the call counts against the connection's stream
   * limit and holds its request bytes. Optional: servers that do not track it leave it out.
   */
  release?(): void;
}

/** A gRPC call on a stream of our own HTTP/2 (h2/connection.ts). */
export class GrpcCall implements ServerCall {
  /** Absolute deadline (Unix ms), counted from when the stream opened: the caller's, or the server's default. */
  readonly deadline: number;
  readonly deadlineByDefault: boolean;
  /** Where the server's sweeper keeps the call while its request is incomplete (deadlines.ts); -1 when it does not. */
  slot = -1;
  /** Set by the method: each complete request message. */
  onMessage: ((msg: Buffer) => void) | undefined = undefined;
  /** Set by the method: the caller has sent its last message. */
  onHalfClose: (() => void) | undefined = undefined;
  /** Set by the method: the call ended without an answer (cancelled, or the connection lost). */
  onCancel: (() => void) | undefined = undefined;

  private headersSent = false;
  private done = false;
  // Message deframing.
  /** A length prefix split across DATA frames: its bytes so far. */
  private head: Buffer | undefined = undefined;
  private headBytes = 0;
  /** A message split across DATA frames: its buffer (of its announced size, reserved) and how much is filled. */
  private body: Buffer | undefined = undefined;
  private bodyPos = 0;
  /** Each message's bytes go back to the budgets once handed over (streaming methods); else when the handler is done. */
  releaseEachMessage = false;

  constructor(
    readonly stream: ServerStream,
    readonly path: string,
    private readonly maxMessageBytes: number,
    timeoutMs: number | undefined,
    defaultDeadlineMs: number,
  ) {
    this.deadlineByDefault = timeoutMs === undefined;
    this.deadline = Date.now() + (timeoutMs ?? defaultDeadlineMs);
    stream.onData = (chunk) => this.receive(chunk);
    stream.onEnd = () => {
      if (this.done) return;
      if (this.headBytes > 0 || this.body !== undefined) {
        this.finish({ code: Status.INTERNAL, details: "the request ended inside a message" });
        return;
      }
      this.onHalfClose?.();
    };
    stream.onReset = () => {
      if (this.done) return;
      this.done = true;
      this.dropInput();
      this.onCancel?.();
    };
  }

  /** The first value of a metadata key (lower-case). */
  metadata(key: string): string | undefined {
    return this.stream.header(key);
  }

  /** A message being assembled is not wanted any more (the call may stay referenced a while, its bytes need not). */
  private dropInput(): void {
    this.body = undefined;
    this.headBytes = 0;
  }

  /** Expires the call when its request has not fully arrived by its deadline (the server's sweeper). */
  expire(): void {
    this.finish({ code: Status.DEADLINE_EXCEEDED, details: "the request did not arrive before the deadline" });
  }

  /** A handler takes the call: it counts against the stream limit, and keeps its request bytes, until release(). */
  hold(): void {
    this.stream.hold();
  }

  release(): void {
    this.stream.release();
  }

  get peer(): string {
    const sock = this.stream.socket;
    return `${sock.remoteAddress ?? "?"}:${String(sock.remotePort ?? 0)}`;
  }

  get isDone(): boolean {
    return this.done;
  }

  /** Sends one response message (the response headers first, once). */
  send(msg: Uint8Array): void {
    if (!this.startMessage(msg.length)) return;
    // The prefix and the message go out as they are: the connection copies small payloads
    // into its output batch and passes large ones to the socket untouched.
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(msg.length, 1);
    this.stream.write(prefix);
    this.stream.write(Buffer.isBuffer(msg) ? msg : Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength));
  }

  /** Sends one response message its writer produces in place (message-writer.ts). */
  sendWith(writer: MessageWriter): void {
    if (this.startMessage(writer.length)) this.stream.writeWith(5 + writer.length, new FramedMessage(writer));
  }

  /** Before a message of `length` bytes: false if the call is over or the message too large (then ended). */
  private startMessage(length: number): boolean {
    if (this.done) return false;
    if (length > this.maxMessageBytes) {
      this.finish({ code: Status.RESOURCE_EXHAUSTED, details: `the response of ${length} bytes exceeds the limit of ${this.maxMessageBytes}` });
      return false;
    }
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond(RESPONSE_HEADERS, false);
    }
    return true;
  }

  /** Ends the call with a status: trailers after the messages, or trailers alone. */
  finish(s: CallStatus): void {
    if (this.done) return;
    this.done = true;
    this.dropInput();
    if (s.code === Status.OK && s.metadata === undefined) {
      if (this.headersSent) this.stream.end(OK_TRAILERS);
      else this.stream.respond(OK_TRAILERS_ONLY, true);
      return;
    }
    const trailers: [string, string][] = [["grpc-status", String(s.code)]];
    if (s.details) trailers.push(["grpc-message", encodeGrpcMessage(s.details)]);
    for (const kv of s.metadata ?? []) trailers.push([kv[0], kv[1]]);
    if (this.headersSent) this.stream.end(headerBlock(trailers));
    else this.stream.respond(headerBlock([...RESPONSE_FIELDS, ...trailers]), true);
  }

  /**
   * Takes DATA bytes apart into messages. A message whole in the chunk is handed over as a view
   * of it (no copy); one split across frames gets a buffer of the size its prefix announces,
   * which is first reserved from the connection's and the server's request budgets (when they
   * have no room the call ends RESOURCE_EXHAUSTED: a prefix cannot make us hold more than the
   * budgets allow), and the bytes are copied into it as they come. Either way the bytes are
   * taken, so the peer gets flow-control credit for them at once. A message's reservation is
   * held until the handler is done (or, with releaseEachMessage, until it is handed over).
   */
  private receive(chunk: Buffer): void {
    this.stream.consume(chunk.length);
    const n = chunk.length;
    let p = 0;
    while (p < n && !this.done) {
      const body = this.body;
      if (body !== undefined) {
        const take = Math.min(n - p, body.length - this.bodyPos);
        chunk.copy(body, this.bodyPos, p, p + take);
        this.bodyPos += take;
        p += take;
        if (this.bodyPos === body.length) {
          this.body = undefined;
          this.deliver(body);
        }
        continue;
      }
      let flags: number;
      let len: number;
      if (this.headBytes === 0 && n - p >= 5) {
        flags = chunk[p]!;
        len = chunk.readUInt32BE(p + 1);
        p += 5;
      } else {
        const head = (this.head ??= Buffer.allocUnsafe(5));
        const take = Math.min(5 - this.headBytes, n - p);
        chunk.copy(head, this.headBytes, p, p + take);
        this.headBytes += take;
        p += take;
        if (this.headBytes < 5) return;
        this.headBytes = 0;
        flags = head[0]!;
        len = head.readUInt32BE(1);
      }
      if (flags !== 0) {
        this.finish({ code: Status.INTERNAL, details: flags === 1 ? "compressed messages are not accepted (grpc-encoding identity)" : "bad message flags" });
        return;
      }
      if (len > this.maxMessageBytes) {
        this.finish({ code: Status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${len} vs. ${this.maxMessageBytes})` });
        return;
      }
      if (!this.stream.charge(len)) {
        this.finish({ code: Status.RESOURCE_EXHAUSTED, details: "the server holds too many request bytes; try again later" });
        return;
      }
      if (n - p >= len) {
        const msg = chunk.subarray(p, p + len);
        p += len;
        this.deliver(msg);
      } else {
        this.body = Buffer.allocUnsafe(len);
        this.bodyPos = 0;
      }
    }
  }

  private deliver(msg: Buffer): void {
    if (this.releaseEachMessage) this.stream.uncharge(msg.length);
    this.onMessage?.(msg);
  }
}

/** How the server runs one method. */
export interface MethodHandler {
  /**
   * unary and serverStream: the call carries exactly one request message, handed over once
   * the caller has half-closed. bidi: `handle` gets no request and reads the call's messages
   * itself (onMessage, onHalfClose).
   */
  readonly kind: "unary" | "serverStream" | "bidi";
  handle(call: ServerCall, request: Buffer | undefined): void;
}
