/**
 * HTTP/2 flow-control windows for the gRPC connections between deployables. HTTP/2 starts
 * every stream and every connection with 65,535 bytes of window; one channel carries all of a
 * caller's concurrent calls, so a few dozen calls of a few kilobytes each (100 statuses, a
 * page of posts) wait for WINDOW_UPDATE frames. Both ends open 1 MiB per stream and per
 * connection instead; grpc-go grows its windows the same way (BDP estimation).
 */
import type * as http2 from "node:http2";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "@switchboard/log";

export const FLOW_CONTROL_WINDOW_BYTES = 1 << 20;

/**
 * Opens the windows of a bound grpc-js server. grpc-js has a client option for this
 * (`grpc-node.flow_control_window`) but none for servers, so its HTTP/2 servers are reached
 * through a private field, checked first: a grpc-js without it serves with the default
 * windows and says so, instead of failing.
 */
export function widenServerWindows(server: grpc.Server, log: Logger): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  const isHttp2Server = (s: unknown): s is http2.Http2Server => typeof (s as http2.Http2Server | undefined)?.updateSettings === "function";
  const found = servers instanceof Map ? [...servers.keys()].filter(isHttp2Server) : [];
  if (found.length === 0) {
    log.warn({ window_bytes: FLOW_CONTROL_WINDOW_BYTES }, "grpc-js HTTP/2 servers not found: serving with HTTP/2's default flow-control windows");
    return;
  }
  for (const s of found) {
    s.updateSettings({ initialWindowSize: FLOW_CONTROL_WINDOW_BYTES });
    s.on("session", (session: http2.ServerHttp2Session) => {
      if (!session.destroyed) session.setLocalWindowSize(FLOW_CONTROL_WINDOW_BYTES);
    });
  }
}
