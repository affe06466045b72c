/**
 * The gRPC client side of the glue: one channel per target, typed unary methods named after
 * the generated service's methods, a deadline on every call, failures as AppError. With TLS
 * options the channel trusts the configured CA and accepts only a server whose certificate
 * names the expected component (its SPIFFE id, whatever host name or proxy the address goes
 * through); rotated files are taken up. It is mTLS when given this process's certificate and
 * key; without them it presents none, and names its caller by a service token instead
 * (serviceToken, service-token.ts).
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { spiffeId, workloadOfSubjectAltName, type IdentityFiles } from "@switchboard/pki";
import { fromServiceError } from "./errors.js";
import { asBuffer, passthrough } from "./bytes.js";
import { FLOW_CONTROL_WINDOW_BYTES } from "./flow-control.js";
import { SERVICE_TOKEN_HEADER } from "./service-token.js";
import { TlsIdentity } from "./tls-identity.js";
import { TrustedCa } from "./trusted-ca.js";

export interface CallOptions {
  /** Session token sent as `authorization: Bearer <token>`. */
  readonly token?: string;
  /** Overrides the client's default deadline. */
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal;
  /** Extra metadata (lower-case keys). */
  readonly metadata?: Readonly<Record<string, string>>;
}

type UnaryKeys<T extends GenServiceMethods> = { [K in keyof T]: T[K]["methodKind"] extends "unary" ? K : never }[keyof T];

export type RpcClient<T extends GenServiceMethods> = {
  [K in UnaryKeys<T>]: (req: MessageInitShape<T[K]["input"]>, opts?: CallOptions) => Promise<MessageShape<T[K]["output"]>>;
} & {
  /** Waits until the channel is connected (or the deadline passes). */
  waitForReady(timeoutMs: number): Promise<void>;
  close(): void;
};

export interface RpcClientOptions {
  /** host:port */
  readonly address: string;
  readonly defaultDeadlineMs: number;
  readonly maxMessageBytes?: number;
  /** TLS (mTLS with a certificate and key); absent: plaintext (tests of the transports only). */
  readonly tls?: ClientTlsOptions | undefined;
  /** With TLS, to a server that takes service tokens: the token sent with every call (createTokenSigner, service-token.ts). */
  readonly serviceToken?: (() => string) | undefined;
}

/** The CA to trust, and (mTLS) this process's certificate and key; without them no certificate is presented. */
export interface ClientTlsOptions extends Pick<IdentityFiles, "caFile">, Partial<Pick<IdentityFiles, "certFile" | "keyFile">> {
  /** The workload the server must be (its certificate's spiffe://switchboard/<name>). */
  readonly server: string;
  /** How often the files are checked for rotation (tls-identity.ts). */
  readonly reloadIntervalMs?: number | undefined;
}

function channelCredentials(tls: ClientTlsOptions | undefined): { creds: grpc.ChannelCredentials; identity?: { close(): void } } {
  if (tls === undefined) return { creds: grpc.credentials.createInsecure() };
  const { certFile, keyFile } = tls;
  const identity =
    certFile !== undefined && keyFile !== undefined ? new TlsIdentity({ caFile: tls.caFile, certFile, keyFile }, tls.reloadIntervalMs) : undefined;
  const ca = identity ?? new TrustedCa(tls.caFile, tls.reloadIntervalMs);
  const creds = grpc.experimental.createCertificateProviderChannelCredentials(ca, identity ?? null, {
    checkServerIdentity: (_host, cert) =>
      workloadOfSubjectAltName(cert.subjectaltname) === tls.server
        ? undefined
        : new Error(`the server is not ${spiffeId(tls.server)} (${cert.subjectaltname ?? "no subjectAltName"})`),
  });
  return { creds, identity: ca };
}

const ROUND_ROBIN = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

export function createRpcClient<T extends GenServiceMethods>(service: GenService<T>, o: RpcClientOptions): RpcClient<T> {
  const { creds, identity } = channelCredentials(o.tls);
  const client = new grpc.Client(o.address, creds, {
    "grpc.max_receive_message_length": o.maxMessageBytes ?? 4 * 1024 * 1024,
    "grpc.max_send_message_length": o.maxMessageBytes ?? 4 * 1024 * 1024,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 5_000,
    // Every address the name resolves to, calls spread over them: a Kubernetes headless Service
    // (dns:///posts.switchboard.svc:9101) balances per call, not per connection (pick_first).
    "grpc.service_config": ROUND_ROBIN,
    // Channelz keeps per-call counters and trace entries nobody reads here.
    "grpc.enable_channelz": 0,
    // Stream and connection windows for what this channel receives (flow-control.ts).
    "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW_BYTES,
    // TLS: the server name sent (SNI) is the component expected, not the address (often an IP).
    ...(o.tls ? { "grpc.ssl_target_name_override": o.tls.server } : {}),
  });
  const out: Record<string, unknown> = {
    waitForReady: (timeoutMs: number) =>
      new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + timeoutMs, (e) => (e ? reject(e) : resolve()))),
    close: () => {
      client.close();
      identity?.close();
    },
  };
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const path = `/${service.typeName}/${method.name}`;
    const input = method.input;
    const output = method.output;
    const decode = (buf: Buffer): MessageShape<DescMessage> => fromBinary(output, buf);
    out[method.localName] = (req: MessageInitShape<DescMessage>, opts: CallOptions = {}) =>
      new Promise((resolve, reject) => {
        const md = new grpc.Metadata();
        if (opts.token) md.set("authorization", `Bearer ${opts.token}`);
        for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
        if (o.serviceToken) md.set(SERVICE_TOKEN_HEADER, o.serviceToken());
        const body = asBuffer(toBinary(input, create(input, req)));
        const call = client.makeUnaryRequest<Buffer, MessageShape<DescMessage>>(
          path,
          passthrough,
          decode,
          body,
          md,
          { deadline: Date.now() + (opts.deadlineMs ?? o.defaultDeadlineMs) },
          (err, res) => (err ? reject(fromServiceError(err, method.name)) : resolve(res)),
        );
        opts.signal?.addEventListener("abort", () => call.cancel(), { once: true });
      });
  }
  return out as RpcClient<T>;
}
