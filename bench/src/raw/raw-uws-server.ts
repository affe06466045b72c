/**
 * The ceiling for this stack: a bare uWebSockets.js server whose sockets all subscribe one
 * topic; every NATS message on the given subject is handed to `app.publish` as is. Run as its
 * own process so its CPU time can be read from /proc.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { connectBus } from "@switchboard/bus";
import type * as uwsModule from "uWebSockets.js";

const require = createRequire(import.meta.url);
type Uws = typeof uwsModule;
const pkg = dirname(require.resolve("uWebSockets.js/package.json"));
const uws = require(join(pkg, "binaries", `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`)) as Uws;

const [natsUrl, subject] = process.argv.slice(2) as [string, string];
const app = uws.App().ws("/*", {
  maxPayloadLength: 16 * 1024,
  idleTimeout: 120,
  maxBackpressure: 4 * 1024 * 1024,
  open: (ws) => {
    ws.subscribe("all");
  },
});
// Its NATS user (the bench's) comes in the environment, as a deployable's would.
const bus = await connectBus({ servers: natsUrl, name: "raw-uws", user: process.env.SB_NATS_USER ?? "", pass: process.env.SB_NATS_PASSWORD ?? "" });
bus.subscribe(subject, (m) => {
  app.publish("all", m.data, false, false);
});
await bus.flush();
app.listen("127.0.0.1", 0, (ls) => {
  if (!ls) process.exit(1);
  process.stdout.write(JSON.stringify({ msg: "ready", port: uws.us_socket_local_port(ls) }) + "\n");
});
