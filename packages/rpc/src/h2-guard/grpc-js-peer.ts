/**
 * grpc-js names a call's peer from its session's socket (`remoteAddress`, `remotePort`). A
 * guarded connection (guarded-socket.ts) reaches Node's http2 as a Duplex, which Node wraps in a
 * socket of its own that has no address; this gives that wrapper the guarded socket's address
 * when the session starts. grpc-js keeps its HTTP/2 servers in a private map (1.14): without it
 * (another version), calls on guarded connections name their peer "unknown".
 */
import type * as http2 from "node:http2";
import type * as grpc from "@grpc/grpc-js";
import type { PeerAddress } from "./guarded-socket.js";

interface WrapperSocket {
  readonly stream?: { readonly peer?: PeerAddress };
  _peername?: { address: string; port: number; family: string };
}

/** After `server.createConnectionInjector`: sessions of that injector name the guarded socket's peer. */
export function namePeersOfLastInjector(server: grpc.Server): void {
  const servers = (server as unknown as { http2Servers?: Map<http2.Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) return;
  const last = [...servers.keys()].at(-1)!;
  last.prependListener("session", (session: http2.ServerHttp2Session) => {
    const socket = session.socket as unknown as WrapperSocket;
    const peer = socket.stream?.peer;
    if (peer?.address !== undefined) socket._peername = { address: peer.address, port: peer.port ?? 0, family: peer.family ?? "" };
  });
}
