/**
 * A Socket.IO peer as a process of its own (its CPU time is read from /proc): every client
 * joins one room; every NATS message on the given subject goes to it by the documented idiom,
 * `io.to(room).emit`, websocket transport only, perMessageDeflate off. The frame is sent as a
 * binary attachment, so Socket.IO encodes the packet once per broadcast and writes the same
 * pre-encoded frames to every socket (a placeholder text frame, then the frame's bytes), with
 * no per-client serialisation and no JSON re-encoding of the payload.
 */
import { createServer } from "node:http";
import { connectBus } from "@switchboard/bus";
import { Server } from "socket.io";

const [natsUrl, subject] = process.argv.slice(2) as [string, string];
const http = createServer();
// A ping every 10 minutes: the run is shorter, and the load client answers pings all the same.
const io = new Server(http, { transports: ["websocket"], perMessageDeflate: false, pingInterval: 600_000, pingTimeout: 600_000, serveClient: false });
io.on("connection", (socket) => {
  void socket.join("all");
});
await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
const bus = await connectBus({ servers: natsUrl, name: "socketio-peer", user: process.env.SB_NATS_USER ?? "", pass: process.env.SB_NATS_PASSWORD ?? "" });
bus.subscribe(subject, (m) => {
  io.to("all").emit("m", Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
});
await bus.flush();
const addr = http.address();
process.stdout.write(JSON.stringify({ msg: "ready", port: typeof addr === "object" && addr ? addr.port : 0 }) + "\n");
