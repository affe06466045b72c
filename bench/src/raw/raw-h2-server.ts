/**
 * The transport floor under any gRPC call on this machine: a bare node:http2 server that
 * answers every POST the way a gRPC server answers a unary call (200, application/grpc, one
 * length-prefixed message of the given size, grpc-status 0 in trailers), with no gRPC
 * library, no decoding and no work. Run as its own process, as a service would be.
 *
 * argv: <response message bytes> [<flow-control window bytes>]. With a window, each stream's
 * initial window and the connection's receive window are that large instead of HTTP/2's
 * 65,535 bytes. Prints {"msg":"ready","port":n} once listening.
 */
import http2 from "node:http2";
import { grpcFrame } from "../grpc-frame.js";

const size = Number(process.argv[2] ?? "0");
const window = Number(process.argv[3] ?? "0");
const body = grpcFrame(Buffer.alloc(size, 0x2a));
const headers = { ":status": 200, "content-type": "application/grpc" };
const trailers = { "grpc-status": "0" };

const server = http2.createServer(window > 0 ? { settings: { initialWindowSize: Math.min(window, 2 ** 31 - 1) } } : {});
if (window > 0) server.on("session", (session) => session.setLocalWindowSize(window));
server.on("stream", (stream) => {
  stream.on("data", () => undefined);
  stream.on("end", () => {
    // A caller that stops mid-run (h2load at the end of its duration) resets its open streams.
    if (stream.destroyed || stream.closed) return;
    stream.respond(headers, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    stream.end(body);
  });
  stream.on("error", () => undefined);
});
server.listen(0, "127.0.0.1", () => {
  const a = server.address();
  process.stdout.write(JSON.stringify({ msg: "ready", port: typeof a === "object" && a ? a.port : 0 }) + "\n");
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
