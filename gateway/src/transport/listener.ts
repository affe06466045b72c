import type { Component } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import { uws, type Uws } from "./uws.js";

export interface ListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  /**
   * On stop, how long to keep accepting first. The runtime turns readiness false before any
   * component stops, so the balancer takes this gateway out of its pool meanwhile, while
   * clients it still sends here are served.
   */
  readonly preStopDelayMs: number;
  /** Runs once the listen socket is closed: closes the open sockets (the drain). */
  readonly onStop: () => Promise<void>;
}

/**
 * The listen socket. Stopping it waits out the pre-stop delay, refuses new connections
 * (`accepting` turns false: upgrades under way are answered 503), closes the listen socket
 * and then runs onStop.
 */
export function listenComponent(app: Uws.TemplatedApp, o: ListenerOptions): Component & { readonly port: number; readonly accepting: boolean } {
  let socket: Uws.us_listen_socket | undefined;
  let bound = 0;
  let accepting = true;
  const log = o.log.child({ part: "listener" });
  return {
    name: "listener",
    get port() {
      return bound;
    },
    get accepting() {
      return accepting;
    },
    start: () =>
      new Promise<void>((resolve, reject) => {
        app.listen(o.host, o.port, (ls) => {
          if (!ls) {
            reject(new Error(`cannot listen on ${o.host}:${o.port}`));
            return;
          }
          socket = ls;
          bound = uws.us_socket_local_port(ls);
          resolve();
        });
      }),
    async stop() {
      if (socket && o.preStopDelayMs > 0) {
        log.info({ pre_stop_ms: o.preStopDelayMs }, "pre-stop: not ready, still accepting");
        await new Promise((r) => setTimeout(r, o.preStopDelayMs));
      }
      accepting = false;
      if (socket) uws.us_listen_socket_close(socket);
      socket = undefined;
      log.info({}, "listener closed");
      await o.onStop();
    },
  };
}
