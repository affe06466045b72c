/**
 * The listening socket in front of @grpc/grpc-js's Server. grpc-js's own listener has no
 * connection caps and no preface timeout (node:http2 keeps a socket that never sends the
 * preface, or sends it a byte at a time, for ever): this one accepts each socket, closes it at
 * once when the server or its peer address already has as many open as the limits allow, and
 * closes it when it has not sent the 24-byte client preface within the preface timeout; the
 * sockets it keeps go to grpc-js through a connection injector. With TLS the bytes counted are
 * the TLS records that carry the handshake and the preface, so the check there is weaker: a
 * peer must have sent at least that much in time. Without TLS, each socket reaches grpc-js
 * through a guard of its frames (h2-guard/guarded-socket.ts) when `guard` is given.
 */
import * as net from "node:net";
import type { Duplex } from "node:stream";
import { guardSocket } from "./h2-guard/guarded-socket.js";
import type { GuardLimits } from "./h2-guard/request-guard.js";

/** The client connection preface (RFC 9113 §3.4) is 24 bytes. */
const PREFACE_BYTES = 24;

export interface AdmissionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerPeer: number;
  readonly prefaceTimeoutMs: number;
  /** The frame guard's limits, for plaintext sockets; undefined: sockets go to grpc-js as they are. */
  readonly guard?: GuardLimits | undefined;
}

export interface AdmittingListener {
  /** Binds and resolves to the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting; the sockets already handed on are grpc-js's to close. */
  close(): void;
  /** Destroys every socket still open (after a shutdown's grace). */
  destroyAll(): void;
}

export function createAdmittingListener(limits: AdmissionLimits, admit: (socket: Duplex) => void): AdmittingListener {
  const open = new Set<net.Socket>();
  const perPeer = new Map<string, number>();

  const server = net.createServer({ noDelay: true }, (socket) => {
    const peer = socket.remoteAddress ?? "";
    const fromPeer = perPeer.get(peer) ?? 0;
    if (open.size >= limits.maxConnections || fromPeer >= limits.maxConnectionsPerPeer) {
      socket.destroy();
      return;
    }
    open.add(socket);
    perPeer.set(peer, fromPeer + 1);
    const preface = setTimeout(() => {
      if (socket.bytesRead < PREFACE_BYTES) socket.destroy();
    }, limits.prefaceTimeoutMs);
    preface.unref();
    socket.once("close", () => {
      clearTimeout(preface);
      open.delete(socket);
      const n = (perPeer.get(peer) ?? 1) - 1;
      if (n > 0) perPeer.set(peer, n);
      else perPeer.delete(peer);
    });
    admit(limits.guard === undefined ? socket : guardSocket(socket, limits.guard));
  });

  return {
    listen: (host, port) =>
      new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve((server.address() as net.AddressInfo).port);
        });
      }),
    close: () => server.close(),
    destroyAll: () => {
      for (const s of open) s.destroy();
    },
  };
}
