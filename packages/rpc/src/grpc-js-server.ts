/**
 * The gRPC server on @grpc/grpc-js's Server: one of the two implementations of RpcServer
 * (server.ts). Every method is registered with pass-through (de)serializers: requests reach
 * the shared handlers (methods.ts) as bytes, which parse them themselves (INVALID_ARGUMENT
 * on bad input, as on h2), and answers leave as the bytes the handler produced, pre-encoded
 * ones (EncodedResponse, MessageWriter) included. With TLS configured (its secure context
 * follows the watched files, tls-identity.ts) each call is admitted by call-guard.ts on the
 * workload of the verified client certificate the server asks every peer for (mTLS), or in
 * token mode on the call's service token, no certificate asked for; a second, plaintext server
 * answers grpc.health.v1 alone when a health port is asked for.
 */
import * as grpc from "@grpc/grpc-js";
import { asBuffer, passthrough } from "./bytes.js";
import type { CallStatus, MethodHandler, ServerCall } from "./call.js";
import { createCallGuard, type CallGuard } from "./call-guard.js";
import { createAdmittingListener } from "./grpc-js-admission.js";
import { namePeersOfLastInjector } from "./h2-guard/grpc-js-peer.js";
import { DEFAULT_H2_LIMITS, type H2Limits } from "./h2/limits.js";
import type { MessageWriter } from "./message-writer.js";
import type { MethodTable } from "./methods.js";
import type { ResolvedServerOptions, RpcServer } from "./server-seam.js";
import { SERVICE_TOKEN_HEADER, type TokenVerifier } from "./service-token.js";
import { callerOfCertificate, healthMethods, serverIdentity, tokenVerifier } from "./server-tls.js";

type AnyCall = grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>;

function trailersOf(s: CallStatus): grpc.Metadata | undefined {
  if (s.metadata === undefined || s.metadata.length === 0) return undefined;
  const md = new grpc.Metadata();
  for (const [k, v] of s.metadata) md.add(k, v);
  return md;
}

/** What the grpc-js calls of every kind share: metadata, deadline, cancellation, the message limit. */
abstract class GrpcJsCall implements ServerCall {
  readonly deadline: number;
  onMessage: ((msg: Buffer) => void) | undefined = undefined;
  onHalfClose: (() => void) | undefined = undefined;
  onCancel: (() => void) | undefined = undefined;
  protected done = false;

  constructor(
    protected readonly call: AnyCall,
    private readonly maxMessageBytes: number,
  ) {
    const d = call.getDeadline();
    this.deadline = typeof d === "number" ? d : d.getTime();
    (call as NodeJS.EventEmitter).once("cancelled", () => {
      if (this.done) return;
      this.done = true;
      this.onCancel?.();
    });
  }

  get isDone(): boolean {
    return this.done;
  }

  get peer(): string {
    return this.call.getPeer();
  }

  metadata(key: string): string | undefined {
    const v = this.call.metadata.get(key);
    if (v.length === 0) return undefined;
    const first = v[0]!;
    return typeof first === "string" ? first : first.toString("latin1");
  }

  send(msg: Uint8Array): void {
    if (this.fits(msg.length)) this.write(asBuffer(msg));
  }

  sendWith(writer: MessageWriter): void {
    if (!this.fits(writer.length)) return;
    // grpc-js frames and writes the message itself: the writer fills a buffer of its own.
    const b = Buffer.allocUnsafe(writer.length);
    if (writer.writeTo(b, 0) !== writer.length) throw new Error(`a message writer wrote other than the ${writer.length} bytes it declared`);
    this.write(b);
  }

  finish(s: CallStatus): void {
    if (this.done) return;
    this.done = true;
    this.end(s);
  }

  /** false (and the call ended with RESOURCE_EXHAUSTED) when a message of `length` bytes may not go out. */
  private fits(length: number): boolean {
    if (this.done) return false;
    if (length <= this.maxMessageBytes) return true;
    this.finish({ code: grpc.status.RESOURCE_EXHAUSTED, details: `the response of ${length} bytes exceeds the limit of ${this.maxMessageBytes}` });
    return false;
  }

  protected abstract write(msg: Buffer): void;
  protected abstract end(s: CallStatus): void;
}

/** A unary call: its one answer is held until the status, then both go out through grpc-js's callback. */
class UnaryCall extends GrpcJsCall {
  private answer: Buffer | undefined = undefined;

  constructor(
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
    private readonly respond: grpc.sendUnaryData<Buffer>,
    maxMessageBytes: number,
  ) {
    super(call, maxMessageBytes);
  }

  protected write(msg: Buffer): void {
    this.answer = msg;
  }

  protected end(s: CallStatus): void {
    if (s.code === grpc.status.OK) this.respond(null, this.answer ?? Buffer.alloc(0), trailersOf(s));
    else this.respond({ code: s.code, details: s.details ?? "", metadata: trailersOf(s) ?? new grpc.Metadata() });
  }
}

/** A server- or bidi-streaming call (health Watch, reflection): messages written as they come. */
class StreamCall extends GrpcJsCall {
  constructor(
    private readonly stream: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>,
    maxMessageBytes: number,
  ) {
    super(stream, maxMessageBytes);
  }

  protected write(msg: Buffer): void {
    this.stream.write(msg);
  }

  protected end(s: CallStatus): void {
    if (s.code === grpc.status.OK) this.stream.end(trailersOf(s));
    else this.stream.emit("error", { code: s.code, details: s.details ?? "", metadata: trailersOf(s) ?? new grpc.Metadata() });
  }
}

/** The caller a call names: by its service token when the server takes them, else by its client certificate. */
function callerOf(call: AnyCall, tokens: TokenVerifier | undefined): string | undefined {
  if (tokens === undefined) return callerOfCertificate(call.getAuthContext().sslPeerCertificate);
  const t = call.metadata.get(SERVICE_TOKEN_HEADER)[0];
  return tokens(typeof t === "string" ? t : undefined);
}

/** How grpc-js calls one of our methods. */
function grpcJsHandler(
  path: string,
  m: MethodHandler,
  maxMessageBytes: number,
  guard: CallGuard | undefined,
  tokens?: TokenVerifier,
): grpc.handleUnaryCall<Buffer, Buffer> | grpc.handleServerStreamingCall<Buffer, Buffer> | grpc.handleBidiStreamingCall<Buffer, Buffer> {
  switch (m.kind) {
    case "unary":
      return ((call, respond) => {
        const c = new UnaryCall(call, respond, maxMessageBytes);
        const no = guard?.(path, callerOf(call, tokens));
        if (no) c.finish(no);
        else m.handle(c, call.request);
      }) satisfies grpc.handleUnaryCall<Buffer, Buffer>;
    case "serverStream":
      return ((call) => {
        const c = new StreamCall(call, maxMessageBytes);
        const no = guard?.(path, callerOf(call, tokens));
        if (no) c.finish(no);
        else m.handle(c, call.request);
      }) satisfies grpc.handleServerStreamingCall<Buffer, Buffer>;
    case "bidi":
      return ((call) => {
        const c = new StreamCall(call, maxMessageBytes);
        const no = guard?.(path, callerOf(call, tokens));
        if (no) return c.finish(no);
        m.handle(c, undefined);
        call.on("data", (msg: Buffer) => c.onMessage?.(msg));
        call.on("end", () => c.onHalfClose?.());
      }) satisfies grpc.handleBidiStreamingCall<Buffer, Buffer>;
  }
}

/** The limits of our own HTTP/2 (h2/limits.ts) that grpc-js has a setting for, or that the listener in front of it applies. */
function newServer(o: ResolvedServerOptions, limits: H2Limits): grpc.Server {
  return new grpc.Server({
    "grpc.max_receive_message_length": o.maxMessageBytes,
    "grpc.max_send_message_length": o.maxMessageBytes,
    "grpc.keepalive_time_ms": o.keepaliveMs,
    "grpc.keepalive_timeout_ms": o.keepaliveTimeoutMs,
    "grpc.max_concurrent_streams": limits.maxConcurrentStreams,
    // A session without calls this long gets GOAWAY and is closed (what h2's idle timeout does).
    ...(limits.idleTimeoutMs > 0 ? { "grpc.max_connection_idle_ms": limits.idleTimeoutMs } : {}),
    // Channelz stays on although nothing reads it: with it off, grpc-js 1.14 keeps no list of its
    // sessions, and forceShutdown then leaves every open connection (and its calls) running.
  });
}

/**
 * What the unfinished messages of one grpc-js connection may hold: one message of the largest
 * size plus 64 KiB for the small ones arriving beside it, never more than the connection's
 * buffer limit. Measured (hostile suite, partial messages): with 4 MiB taken the target's RSS
 * came back to baseline; with 8 MiB it stayed 14.5 MB up, what the allocator keeps of grpc-js's
 * chunks.
 */
function unfinishedMessageBudget(maxMessageBytes: number, limits: H2Limits): number {
  return Math.min(limits.connectionBufferBytes, maxMessageBytes + 5 + (64 << 10));
}

function bind(server: grpc.Server, host: string, port: number, creds: grpc.ServerCredentials): Promise<number> {
  const h = host.includes(":") ? `[${host}]` : host;
  return new Promise<number>((resolve, reject) => server.bindAsync(`${h}:${port}`, creds, (e, p) => (e ? reject(e) : resolve(p))));
}

/** Stops a server: GOAWAY and no new calls; calls in flight run on until the grace ends. */
function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    force.unref();
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

export function createGrpcJsServer(o: ResolvedServerOptions, table: MethodTable): RpcServer {
  const identity = serverIdentity(o);
  const tokens = tokenVerifier(o);
  const limits: H2Limits = { ...DEFAULT_H2_LIMITS, ...o.h2Limits };
  const server = newServer(o, limits);
  const healthServer = o.healthPort === undefined ? undefined : newServer(o, limits);
  let listener: ReturnType<typeof createAdmittingListener> | undefined;
  let healthPort: number | undefined;
  let stopped: Promise<void> | undefined;

  return {
    transport: "grpc-js",
    health: table.health,
    get healthPort() {
      return healthPort;
    },
    add: (service, impl, decoders) => table.add(service, impl, decoders),
    async start() {
      const all = table.all();
      const guard = identity === undefined ? undefined : createCallGuard(all.keys(), tokens === undefined ? "mtls" : "token");
      for (const [path, m] of all) server.register(path, grpcJsHandler(path, m, o.maxMessageBytes, guard, tokens), passthrough, passthrough, m.kind);
      // Without requiring a client certificate (the last argument) a peer without one still
      // connects, and its calls are answered UNAUTHENTICATED by the guard. grpc-js asks for a
      // certificate when given a CA provider; in token mode it gets none. (Its declaration
      // names the first two parameters the other way round from what it does: the first is the
      // identity, the second the CA. Our one TlsIdentity is both; in token mode the CA is null.)
      const creds =
        identity === undefined
          ? grpc.ServerCredentials.createInsecure()
          : grpc.experimental.createCertificateProviderServerCredentials(identity, tokens === undefined ? identity : null, false);
      // Sockets come through a listener of ours (connection caps, preface timeout), not grpc-js's bind.
      const injector = server.createConnectionInjector(creds);
      // Without TLS the frames are guarded before grpc-js (h2-guard/); with TLS grpc-js has the socket's bytes as they come.
      const frameGuard = identity === undefined ? { unfinishedMessageBytes: unfinishedMessageBudget(o.maxMessageBytes, limits) } : undefined;
      if (frameGuard !== undefined) namePeersOfLastInjector(server);
      listener = createAdmittingListener({ ...limits, guard: frameGuard }, (socket) => injector.injectConnection(socket));
      const port = await listener.listen(o.host, o.port);
      if (healthServer !== undefined) {
        for (const [path, m] of healthMethods(all))
          healthServer.register(path, grpcJsHandler(path, m, o.maxMessageBytes, undefined), passthrough, passthrough, m.kind);
        healthPort = await bind(healthServer, o.host, o.healthPort ?? 0, grpc.ServerCredentials.createInsecure());
      }
      return port;
    },
    stop(graceMs) {
      stopped ??= (async () => {
        table.health.shutdown();
        listener?.close();
        await Promise.all([shutdown(server, graceMs), healthServer ? shutdown(healthServer, graceMs) : undefined]);
        listener?.destroyAll();
        identity?.close();
      })();
      return stopped;
    },
  };
}
