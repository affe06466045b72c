/**
 * The ceiling for this stack, in the process that calls it: a bare uWebSockets.js server whose
 * sockets all subscribe one topic, each frame handed to `app.publish` as is. A socket whose
 * upgrade carries an `X-Topic` header subscribes that topic instead (a channel, for shapes of
 * several channels).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as uwsModule from "uWebSockets.js";

const require = createRequire(import.meta.url);
type Uws = typeof uwsModule;

function loadUws(): Uws {
  const pkg = dirname(require.resolve("uWebSockets.js/package.json"));
  return require(join(pkg, "binaries", `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`)) as Uws;
}

const ALL = "all";

export interface UwsPublisher {
  readonly port: number;
  /** Sends the frame (a text frame) to every open socket of the topic (default: those without an X-Topic). */
  publish(frame: Uint8Array, topic?: string): void;
  /** Stops listening (the sockets still open stay so until their clients close them). */
  close(): void;
}

export function startUwsPublisher(): Promise<UwsPublisher> {
  const uws = loadUws();
  const app = uws.App().ws<{ topic: string }>("/*", {
    maxPayloadLength: 16 * 1024,
    idleTimeout: 120,
    maxBackpressure: 4 * 1024 * 1024,
    upgrade: (res, req, context) => {
      res.upgrade(
        { topic: req.getHeader("x-topic") || ALL },
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
    },
    open: (ws) => {
      ws.subscribe(ws.getUserData().topic);
    },
  });
  return new Promise((resolve, reject) => {
    app.listen("127.0.0.1", 0, (ls) => {
      if (!ls) {
        reject(new Error("uWS could not listen"));
        return;
      }
      resolve({
        port: uws.us_socket_local_port(ls),
        publish: (frame, topic = ALL) => app.publish(topic, frame, false, false),
        close: () => uws.us_listen_socket_close(ls),
      });
    });
  });
}
