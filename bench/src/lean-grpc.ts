/**
 * A load generator's gRPC caller: unary calls framed by hand over one node:http2 session, with
 * none of a gRPC library's per-call machinery (interceptors, metadata objects, call state,
 * deadlines timers, status objects). It costs the caller a fraction of what @grpc/grpc-js does,
 * so that on a machine whose cores the caller shares with the service and its database, the
 * figure measured is the service's rather than the client library's.
 *
 * Every answer is still checked as a gRPC client checks it: HTTP 200, content-type
 * application/grpc, grpc-status 0 (in trailers, or in the headers of a trailers-only answer),
 * exactly one uncompressed length-prefixed message.
 */
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import type { PeerCertificate } from "node:tls";
import { workloadOfSubjectAltName, type IdentityFiles } from "@switchboard/pki";
import { grpcFrame } from "./grpc-frame.js";

export interface LeanGrpcOptions {
  /** host:port */
  readonly address: string;
  /** Sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string;
  /** The deadline every call carries (`grpc-timeout`), default 10 s. */
  readonly deadlineMs?: number;
  /** Stream and connection receive windows (default HTTP/2's 65,535 bytes). */
  readonly windowBytes?: number;
  /** mTLS as this identity, to a server that must be `server` (absent: plaintext h2c). */
  readonly tls?: IdentityFiles & { readonly server: string };
}

/** TLS options of a connection presenting `tls`'s certificate to the component `tls.server`. */
export function mtlsConnectOptions(tls: IdentityFiles & { readonly server: string }) {
  return {
    ca: readFileSync(tls.caFile),
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
    ALPNProtocols: ["h2"],
    servername: tls.server,
    checkServerIdentity: (_host: string, cert: PeerCertificate) =>
      workloadOfSubjectAltName(cert.subjectaltname) === tls.server ? undefined : new Error(`the server is not ${tls.server}`),
  };
}

export class LeanGrpcError extends Error {
  constructor(
    readonly grpcStatus: number,
    message: string,
  ) {
    super(`gRPC status ${String(grpcStatus)}: ${message}`);
  }
}

export interface LeanGrpcClient {
  /** One unary call to `/package.Service/Method`; resolves with the response message's bytes. */
  unary(path: string, request: Uint8Array): Promise<Buffer>;
  close(): Promise<void>;
}

function statusOf(h: http2.IncomingHttpHeaders): { status: number; message: string } | undefined {
  const s = h["grpc-status"];
  if (s === undefined) return undefined;
  const m = h["grpc-message"];
  return { status: Number(s), message: decodeURIComponent(typeof m === "string" ? m : "") };
}

export async function connectLeanGrpc(o: LeanGrpcOptions): Promise<LeanGrpcClient> {
  const window = o.windowBytes ?? 0;
  const session = http2.connect(`${o.tls ? "https" : "http"}://${o.address}`, {
    ...(window > 0 ? { settings: { initialWindowSize: window } } : {}),
    ...(o.tls ? mtlsConnectOptions(o.tls) : {}),
  });
  await new Promise<void>((resolve, reject) => {
    session.once("connect", () => resolve());
    session.once("error", reject);
  });
  session.on("error", () => undefined); // surfaced per call as stream errors
  if (window > 0) session.setLocalWindowSize(window);
  const base: http2.OutgoingHttpHeaders = {
    ":method": "POST",
    "content-type": "application/grpc",
    te: "trailers",
    "grpc-timeout": `${String(o.deadlineMs ?? 10_000)}m`,
    ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
  };

  return {
    unary(path, request) {
      return new Promise<Buffer>((resolve, reject) => {
        const stream = session.request({ ...base, ":path": path });
        const chunks: Buffer[] = [];
        let failure: Error | undefined;
        let status: { status: number; message: string } | undefined;
        stream.on("response", (h) => {
          if (h[":status"] !== 200) failure = new Error(`HTTP ${String(h[":status"])}`);
          else if (!String(h["content-type"] ?? "").startsWith("application/grpc")) failure = new Error(`content-type ${String(h["content-type"])}`);
          status = statusOf(h); // a trailers-only answer
        });
        stream.on("trailers", (h: http2.IncomingHttpHeaders) => (status = statusOf(h)));
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.once("error", reject);
        stream.once("close", () => {
          if (failure) return reject(failure);
          if (!status) return reject(new Error(`stream closed without grpc-status (HTTP/2 code ${String(stream.rstCode)})`));
          if (status.status !== 0) return reject(new LeanGrpcError(status.status, status.message));
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5)
            return reject(new Error(`not one uncompressed message (${String(body.length)} bytes)`));
          resolve(body.subarray(5));
        });
        stream.end(grpcFrame(request));
      });
    },
    close() {
      return new Promise<void>((resolve) => session.close(() => resolve()));
    },
  };
}
