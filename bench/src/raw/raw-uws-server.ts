/**
 * The ceiling for this stack as a process of its own (so its CPU time can be read from /proc):
 * every NATS message on the given subject is handed to uWebSockets.js `app.publish` as is, to
 * every socket (uws-publisher.ts).
 */
import { connectBus } from "@switchboard/bus";
import { startUwsPublisher } from "./uws-publisher.js";

const [natsUrl, subject] = process.argv.slice(2) as [string, string];
const server = await startUwsPublisher();
// Its NATS user (the bench's) comes in the environment, as a deployable's would.
const bus = await connectBus({ servers: natsUrl, name: "raw-uws", user: process.env.SB_NATS_USER ?? "", pass: process.env.SB_NATS_PASSWORD ?? "" });
bus.subscribe(subject, (m) => {
  server.publish(m.data);
});
await bus.flush();
process.stdout.write(JSON.stringify({ msg: "ready", port: server.port }) + "\n");
