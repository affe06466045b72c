/**
 * HTTP/2 frames over raw TCP against a service's gRPC port: a real connection preface and
 * settings, then unary gRPC calls (PostsService/GetChannel and grpc.health.v1 Check) built
 * frame by frame, and in attack mode the same calls mutated at the byte level plus frames a
 * conforming client never sends: unknown types and flags, settings out of range or of a bad
 * length, zero and overflowing window updates, DATA on stream 0, CONTINUATION out of place,
 * self-dependent priorities, oversized frames, length fields that lie, garbage HPACK.
 */
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { connect } from "node:tls";
import { mutateBytes, type Rng } from "./mutator.js";
import type { Surface, Targets, Tally } from "./surface.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const T = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST: 3, SETTINGS: 4, PUSH: 5, PING: 6, GOAWAY: 7, WINDOW: 8, CONT: 9 } as const;
const END_STREAM = 1;
const END_HEADERS = 4;

function h2frame(type: number, flags: number, stream: number, payload: Buffer, lieLength?: number): Buffer {
  const len = lieLength ?? payload.length;
  const h = Buffer.alloc(9);
  h.writeUIntBE(len & 0xffffff, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([h, payload]);
}

function hpackInt(v: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (v < max) return [first | v];
  const out = [first | max];
  v -= max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Literal header fields without indexing, new names (RFC 7541 6.2.2): no table state to track. */
function hpack(headers: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [n, v] of headers) {
    const nb = Buffer.from(n);
    const vb = Buffer.from(v);
    parts.push(Buffer.from([0x00, ...hpackInt(nb.length, 7, 0)]), nb, Buffer.from(hpackInt(vb.length, 7, 0)), vb);
  }
  return Buffer.concat(parts);
}

function settings(pairs: readonly (readonly [number, number])[]): Buffer {
  const b = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, v], i) => {
    b.writeUInt16BE(id, 6 * i);
    b.writeUInt32BE(v >>> 0, 6 * i + 2);
  });
  return b;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

interface Conn {
  sock: Socket;
  nextStream: number;
  inbox: Buffer;
  alive: boolean;
  /** Closed by the fuzzer itself: not counted as the peer's. */
  dropped: boolean;
}

export function h2Surface(t: Targets, tally: Tally): Surface {
  const [host, port] = [t.grpcAddr.slice(0, t.grpcAddr.lastIndexOf(":")), Number(t.grpcAddr.slice(t.grpcAddr.lastIndexOf(":") + 1))];
  const conns: Conn[] = [];
  const POOL = 4;
  const tls = { ca: readFileSync(t.grpcTls.caFile), cert: readFileSync(t.grpcTls.certFile), key: readFileSync(t.grpcTls.keyFile) };

  const calls: readonly { path: string; body: Buffer }[] = [
    { path: "/sb.posts.v1.PostsService/GetChannel", body: Buffer.concat([Buffer.from([0x0a, t.channelId.length]), Buffer.from(t.channelId)]) },
    { path: "/grpc.health.v1.Health/Check", body: Buffer.alloc(0) },
  ];

  function call(c: Conn, r: Rng): Buffer {
    const stream = c.nextStream;
    c.nextStream += 2;
    const { path, body } = r.pick(calls);
    const block = hpack([
      [":method", "POST"],
      [":scheme", "https"],
      [":path", path],
      [":authority", t.grpcAddr],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ["authorization", `Bearer ${t.token}`],
      ["grpc-timeout", "5S"],
    ]);
    const msg = Buffer.concat([Buffer.from([0]), u32(body.length), body]);
    return Buffer.concat([h2frame(T.HEADERS, END_HEADERS, stream, block), h2frame(T.DATA, END_STREAM, stream, msg)]);
  }

  function open(): Conn {
    // The server is checked against the CA; its name (a workload URI, not a host name) is not what is fuzzed.
    const sock = connect({ host, port, ...tls, ALPNProtocols: ["h2"], checkServerIdentity: () => undefined });
    const c: Conn = { sock, nextStream: 1, inbox: Buffer.alloc(0), alive: true, dropped: false };
    sock.setNoDelay(true);
    sock.on("error", () => undefined);
    sock.on("close", () => {
      c.alive = false;
      if (!c.dropped) tally.count("h2.closed_by_peer");
      const i = conns.indexOf(c);
      if (i >= 0) conns.splice(i, 1);
    });
    // Reads just enough to acknowledge the server's SETTINGS and PINGs and to see GOAWAY.
    sock.on("data", (d: Buffer) => {
      c.inbox = c.inbox.length ? Buffer.concat([c.inbox, d]) : d;
      while (c.inbox.length >= 9) {
        const len = c.inbox.readUIntBE(0, 3);
        if (c.inbox.length < 9 + len) break;
        const type = c.inbox[3]!;
        const flags = c.inbox[4]!;
        if (type === T.SETTINGS && !(flags & 1)) sock.write(h2frame(T.SETTINGS, 1, 0, Buffer.alloc(0)));
        else if (type === T.PING && !(flags & 1)) sock.write(h2frame(T.PING, 1, 0, c.inbox.subarray(9, 9 + len)));
        else if (type === T.GOAWAY) tally.count("h2.goaway");
        else if (type === T.HEADERS) tally.count("h2.response_headers");
        c.inbox = c.inbox.subarray(9 + len);
      }
    });
    sock.write(Buffer.concat([PREFACE, h2frame(T.SETTINGS, 0, 0, settings([[4, 2 ** 31 - 1]])), h2frame(T.WINDOW, 0, 0, u32(2 ** 31 - 1 - 65_535))]));
    conns.push(c);
    tally.count("h2.connected");
    return c;
  }

  function hostile(c: Conn, r: Rng): Buffer {
    const s = c.nextStream;
    switch (r.int(12)) {
      case 0:
      case 1:
        return mutateBytes(r, call(c, r), 64 * 1024);
      case 2:
        return h2frame(10 + r.int(246), r.int(256), r.int(2) ? 0 : r.int(2 ** 31), r.bytes(r.int(64)));
      case 3:
        return h2frame(
          T.SETTINGS,
          r.chance(0.2) ? 1 : 0,
          r.chance(0.2) ? 1 : 0,
          r.chance(0.3) ? r.bytes(1 + r.int(11)) : settings([[r.int(8), r.pick([0, 1, 2, 2 ** 31, 2 ** 32 - 1, 16_383, 2 ** 24])]]),
        );
      case 4:
        return h2frame(T.WINDOW, 0, r.chance(0.5) ? 0 : s, u32(r.pick([0, 2 ** 31 - 1, 2 ** 31])));
      case 5:
        return h2frame(T.DATA, r.int(256), r.chance(0.5) ? 0 : s + 2 * r.int(100), r.bytes(r.int(200)));
      case 6:
        return h2frame(T.CONT, r.int(256), r.int(2) ? s : 0, r.bytes(r.int(100)));
      case 7:
        c.nextStream += 2;
        return Buffer.concat([
          h2frame(T.HEADERS, 0, s, hpack([[":method", "POST"]])),
          h2frame(r.pick([T.DATA, T.PING, T.HEADERS]), 0, r.int(2) ? s : s + 2, r.bytes(8)),
        ]);
      case 8:
        return h2frame(T.PRIORITY, 0, s, Buffer.concat([u32(s), Buffer.from([r.int(256)])]));
      case 9:
        return h2frame(r.pick([T.HEADERS, T.DATA, T.PING]), 0, s, r.bytes(100), 16_385 + r.int(2 ** 24 - 16_385));
      case 10:
        c.nextStream += 2;
        return h2frame(T.HEADERS, END_HEADERS | (r.chance(0.5) ? END_STREAM : 0), s, r.bytes(1 + r.int(200)));
      default:
        return h2frame(r.pick([T.RST, T.PING, T.GOAWAY, T.PUSH]), r.int(256), r.pick([0, s, 1, 2 ** 31 - 1]), r.bytes(r.int(20)));
    }
  }

  return {
    name: "h2",
    send(r, attack) {
      while (conns.length < POOL) open();
      const c = r.pick(conns);
      if (!c.alive) return;
      if (attack) {
        c.sock.write(hostile(c, r));
        tally.count("h2.hostile_frames");
        if (r.chance(0.03)) {
          c.dropped = true;
          c.sock.destroy();
        }
      } else {
        c.sock.write(call(c, r));
        tally.count("h2.valid_calls");
      }
    },
    close() {
      for (const c of conns.splice(0)) {
        c.dropped = true;
        c.sock.destroy();
      }
    },
  };
}
