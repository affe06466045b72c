/**
 * The ceiling for this stack as a process of its own (so its CPU time can be read from /proc):
 * every NATS message on the given subject is handed to uWebSockets.js `app.publish` as is, to
 * every socket (uws-publisher.ts). With a third argument `by-channel`, each frame goes to the
 * sockets of its channel only (those that upgraded with `X-Topic: <channel id>`), the channel
 * read from the frame's `"broadcast":{"channel_id":"…"`, as a router must read it.
 */
import { connectBus } from "@switchboard/bus";
import { startUwsPublisher } from "./uws-publisher.js";

const [natsUrl, subject, mode] = process.argv.slice(2) as [string, string, string | undefined];
const byChannel = mode === "by-channel";
const CHANNEL_KEY = Buffer.from('"broadcast":{"channel_id":"');
const server = await startUwsPublisher();
// Its NATS user (the bench's) comes in the environment, as a deployable's would.
const bus = await connectBus({ servers: natsUrl, name: "raw-uws", user: process.env.SB_NATS_USER ?? "", pass: process.env.SB_NATS_PASSWORD ?? "" });
bus.subscribe(subject, (m) => {
  if (!byChannel) {
    server.publish(m.data);
    return;
  }
  const frame = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const at = frame.indexOf(CHANNEL_KEY);
  if (at >= 0) server.publish(m.data, frame.toString("latin1", at + CHANNEL_KEY.length, at + CHANNEL_KEY.length + 26));
});
await bus.flush();
process.stdout.write(JSON.stringify({ msg: "ready", port: server.port }) + "\n");
