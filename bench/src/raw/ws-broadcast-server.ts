/**
 * A `ws` peer as a process of its own (its CPU time is read from /proc): every NATS message on
 * the given subject is sent, as is, to every open client by the library's documented broadcast
 * loop (`for (const c of wss.clients) c.send(frame)`), perMessageDeflate off. The frame is
 * encoded once; `ws` frames it per client, which is what its users get.
 */
import { connectBus } from "@switchboard/bus";
import { WebSocketServer, WebSocket } from "ws";

const [natsUrl, subject] = process.argv.slice(2) as [string, string];
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, clientTracking: true });
await new Promise<void>((resolve) => wss.once("listening", resolve));
const bus = await connectBus({ servers: natsUrl, name: "ws-peer", user: process.env.SB_NATS_USER ?? "", pass: process.env.SB_NATS_PASSWORD ?? "" });
const opts = { binary: false } as const;
bus.subscribe(subject, (m) => {
  const frame = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  for (const c of wss.clients) if (c.readyState === WebSocket.OPEN) c.send(frame, opts);
});
await bus.flush();
const addr = wss.address();
process.stdout.write(JSON.stringify({ msg: "ready", port: typeof addr === "object" && addr ? addr.port : 0 }) + "\n");
