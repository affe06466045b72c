import type { Component } from "@switchboard/lifecycle";
import { uws, type Uws } from "./uws.js";

/**
 * The listen socket. Stopping it refuses new connections (`accepting` turns false: upgrades
 * under way are answered 503) and then runs onStop, which closes the open sockets.
 */
export function listenComponent(
  app: Uws.TemplatedApp,
  host: string,
  port: number,
  onStop: () => void,
): Component & { readonly port: number; readonly accepting: boolean } {
  let socket: Uws.us_listen_socket | undefined;
  let bound = 0;
  let accepting = true;
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
        app.listen(host, port, (ls) => {
          if (!ls) {
            reject(new Error(`cannot listen on ${host}:${port}`));
            return;
          }
          socket = ls;
          bound = uws.us_socket_local_port(ls);
          resolve();
        });
      }),
    async stop() {
      accepting = false;
      if (socket) uws.us_listen_socket_close(socket);
      socket = undefined;
      onStop();
    },
  };
}
