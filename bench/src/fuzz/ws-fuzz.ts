/**
 * WebSocket frames over raw TCP: a real upgrade, then frames built byte by byte, so the
 * fuzzer can send what no WebSocket library would (bad opcodes, reserved bits, unmasked or
 * oversized control frames, length fields that lie, invalid UTF-8), as well as Mattermost
 * requests (PROTOCOL.md: {seq, action, data}, JSON text or msgpack binary) mutated at the JSON
 * and the byte level. Control mode sends the same requests unmutated.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { mutateBytes, mutateJson, randomJson, type Rng } from "./mutator.js";
import type { Surface, Targets, Tally } from "./surface.js";

const OP_TEXT = 1;
const OP_BINARY = 2;

/** One client frame (clients mask); `lieLength` writes a length field other than the payload's. */
function frame(op: number, payload: Buffer, o: { fin?: boolean; rsv?: number; mask?: boolean; lieLength?: number } = {}): Buffer {
  const len = o.lieLength ?? payload.length;
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | op];
  const m = (o.mask ?? true) ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else {
    head.push(m | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  }
  if (!m) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

interface Conn {
  sock: Socket;
  open: boolean;
  seq: number;
  /** Closed by the fuzzer itself (recycled, or the surface closed): not counted as the peer's. */
  dropped: boolean;
}

export function wsSurface(t: Targets, tally: Tally): Surface {
  const conns: Conn[] = [];
  const POOL = 6;
  const url = new URL(t.gatewayUrl);

  const requestTemplates = (seq: number): Record<string, unknown>[] => [
    { seq, action: "user_typing", data: { channel_id: t.channelId, parent_id: "" } },
    { seq, action: "get_statuses", data: {} },
    { seq, action: "get_statuses_by_ids", data: { user_ids: [t.userId] } },
    { seq, action: "ping", data: {} },
    { seq, action: "presence", data: { channel_id: t.channelId } },
  ];

  function open(): Conn {
    const sock = connect({ host: url.hostname, port: Number(url.port) });
    const c: Conn = { sock, open: false, seq: 1, dropped: false };
    let head = "";
    sock.setNoDelay(true);
    sock.on("error", () => undefined);
    sock.on("close", () => {
      if (c.open && !c.dropped) tally.count("ws.closed_by_peer");
      c.open = false;
      const i = conns.indexOf(c);
      if (i >= 0) conns.splice(i, 1);
    });
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      sock.off("data", onData);
      sock.on("data", () => undefined);
      if (!head.startsWith("HTTP/1.1 101")) {
        tally.count(`ws.upgrade_${head.slice(9, 12)}`);
        sock.destroy();
        return;
      }
      c.open = true;
      tally.count("ws.connected");
      sock.write(frame(OP_TEXT, Buffer.from(JSON.stringify({ seq: c.seq++, action: "authentication_challenge", data: { token: t.token } }))));
    };
    sock.on("data", onData);
    sock.write(
      `GET /api/v4/websocket HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    conns.push(c);
    return c;
  }

  function hostile(r: Rng, c: Conn): Buffer {
    const req = r.pick(requestTemplates(c.seq++));
    const json = Buffer.from(JSON.stringify(r.chance(0.5) ? mutateJson(r, req) : req));
    switch (r.int(10)) {
      case 0:
        return frame(OP_TEXT, mutateBytes(r, json));
      case 1:
        return frame(
          OP_BINARY,
          r.chance(0.5) ? r.bytes(r.int(300)) : mutateBytes(r, Buffer.from([0x83, 0xa3, 0x73, 0x65, 0x71, 0x01, ...json.subarray(0, 40)])),
        );
      case 2:
        return frame(r.int(16), r.bytes(r.int(200)), { rsv: r.int(8) });
      case 3:
        return frame(OP_TEXT, json, { mask: false });
      case 4:
        return frame(r.pick([8, 9, 10]), r.bytes(126 + r.int(200)));
      case 5:
        return frame(OP_TEXT, json.subarray(0, json.length >> 1), { fin: false });
      case 6:
        return frame(0, json);
      case 7:
        return frame(OP_TEXT, Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80, ...json]));
      case 8:
        return frame(OP_TEXT, json, { lieLength: r.chance(0.5) ? json.length + 1 + r.int(1000) : 2 ** 31 + r.int(1000) });
      default:
        return frame(OP_TEXT, Buffer.from(JSON.stringify(randomJson(r))));
    }
  }

  return {
    name: "ws",
    send(r, attack) {
      while (conns.length < POOL) open();
      const ready = conns.filter((c) => c.open);
      if (ready.length === 0) {
        tally.count("ws.no_connection");
        return;
      }
      const c = r.pick(ready);
      if (attack) {
        c.sock.write(hostile(r, c));
        tally.count("ws.hostile_frames");
        // Some protocol errors leave the server waiting for bytes that never come: recycle.
        if (r.chance(0.05)) {
          c.dropped = true;
          c.sock.destroy();
        }
      } else {
        const req = r.pick(requestTemplates(c.seq++));
        c.sock.write(frame(OP_TEXT, Buffer.from(JSON.stringify(req))));
        tally.count("ws.valid_frames");
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
