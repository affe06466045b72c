/**
 * Puts a RequestGuard (request-guard.ts) between an accepted socket and @grpc/grpc-js's server:
 * the server gets a Duplex whose reads are the socket's bytes as the guard lets them through and
 * whose writes go to the socket as they are, their frame headers walked only to know where a
 * frame ends (a RST_STREAM or GOAWAY of ours goes out there, never inside a frame of the server's)
 * and which streams the server has ended. Node's http2 takes a Duplex that is not a socket
 * through a JS stream wrapper: the cost of that and of the guard is in docs/hostile-peers.md.
 */
import type * as net from "node:net";
import { Duplex } from "node:stream";
import { FrameType, Flag, H2Error } from "../h2/frames.js";
import { FrameWalker } from "./frame-walker.js";
import { RequestGuard, type GuardLimits } from "./request-guard.js";

/** How long a connection the guard ended may take to flush its GOAWAY before the socket is destroyed. */
const LINGER_MS = 1_000;

function rstStream(id: number, code: H2Error): Buffer {
  const f = Buffer.alloc(13);
  f.writeUIntBE(4, 0, 3);
  f[3] = FrameType.RST_STREAM;
  f.writeUInt32BE(id, 5);
  f.writeUInt32BE(code, 9);
  return f;
}

function goaway(lastStreamId: number, code: H2Error, debug: string): Buffer {
  const d = Buffer.from(debug, "latin1");
  const f = Buffer.alloc(17 + d.length);
  f.writeUIntBE(8 + d.length, 0, 3);
  f[3] = FrameType.GOAWAY;
  f.writeUInt32BE(lastStreamId, 9);
  f.writeUInt32BE(code, 13);
  d.copy(f, 17);
  return f;
}

/** The socket's peer, as grpc-js would read it from the socket (it sees the Duplex through a wrapper that has none). */
export interface PeerAddress {
  readonly address: string | undefined;
  readonly port: number | undefined;
  readonly family: string | undefined;
}

/** A Duplex for grpc-js's connection injector in place of `raw`; `peer` is raw's address. */
export function guardSocket(raw: net.Socket, limits: GuardLimits): Duplex & { readonly peer: PeerAddress } {
  const out = new FrameWalker();
  /** Frames of ours waiting for the server's current frame to end. */
  let waiting: Buffer[] = [];
  let failed = false;

  const toPeer = (frame: Buffer): void => {
    if (out.atBoundary) raw.write(frame);
    else waiting.push(frame);
  };

  const inner = new Duplex({
    read: () => {
      if (!failed) raw.resume();
    },
    write: (chunk: Buffer, _enc, cb) => {
      if (failed) return cb();
      let pos = 0;
      let from = 0;
      while (pos < chunk.length) {
        if (!out.inPayload) {
          pos = out.takeHeader(chunk, pos);
          if (!out.inPayload) break;
          const t = out.type;
          if (t === FrameType.RST_STREAM || ((t === FrameType.DATA || t === FrameType.HEADERS) && out.flags & Flag.END_STREAM))
            guard.serverClosed(out.streamId);
        } else {
          pos += out.takePayload(chunk.length - pos);
        }
        if (out.inPayload && out.remaining === 0) {
          out.endFrame();
          if (waiting.length > 0) {
            raw.write(chunk.subarray(from, pos));
            from = pos;
            for (const f of waiting) raw.write(f);
            waiting = [];
          }
        }
      }
      // Handed to the socket at once (so a GOAWAY Node's http2 writes just before it destroys the
      // session still goes out), the next write waiting only while the socket's buffer is full.
      if (from < chunk.length && !raw.write(from === 0 ? chunk : chunk.subarray(from))) raw.once("drain", () => cb());
      else cb();
    },
    final: (cb) => {
      raw.end();
      cb();
    },
    destroy: (err, cb) => {
      // After a GOAWAY of ours the socket lingers until the peer has it (LINGER_MS at most).
      if (!failed) raw.destroy();
      cb(err);
    },
  });

  const guard = new RequestGuard(limits, {
    forward: (bytes) => {
      if (!inner.push(bytes)) raw.pause();
    },
    resetStream: (id, code) => {
      // The server is told the client cancelled (its handler, if any, ends); the client hears why.
      if (!inner.push(rstStream(id, H2Error.CANCEL))) raw.pause();
      toPeer(rstStream(id, code));
    },
    fail: (code, debug, lastStreamId) => {
      failed = true;
      raw.pause();
      if (out.atBoundary) {
        raw.end(goaway(lastStreamId, code, debug));
        setTimeout(() => raw.destroy(), LINGER_MS).unref();
      } else {
        raw.destroy();
      }
      // The server's session ends now, and with it every call of the connection.
      inner.destroy();
    },
  });

  raw.on("data", (chunk: Buffer) => guard.received(chunk));
  raw.on("end", () => inner.push(null));
  raw.on("close", () => inner.destroy());
  // A reset by the peer ends the session like a close; the error itself is nothing to report.
  raw.on("error", () => undefined);
  return Object.assign(inner, { peer: { address: raw.remoteAddress, port: raw.remotePort, family: raw.remoteFamily } });
}
