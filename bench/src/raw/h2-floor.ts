/**
 * A bare HTTP/2 unary exchange with the byte sizes of a real gRPC call: the server is
 * raw-h2-server.js in a process of its own; the caller is node:http2 in this process, one
 * session (as a grpc-js channel uses one), request and response framed as gRPC frames them.
 * What is left of a call's cost once every gRPC library and all the work are taken away.
 * `windowBytes` widens HTTP/2 flow control on both sides (stream and connection windows)
 * beyond the protocol's default 65,535 bytes, which a few dozen multi-kilobyte calls in
 * flight on one session exceed.
 */
import { spawn } from "node:child_process";
import http2 from "node:http2";
import { fileURLToPath } from "node:url";

export interface H2Floor {
  /** One POST with the request bytes; resolves when the response and its trailers are in. */
  call(): Promise<void>;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startH2Floor(o: { path: string; requestBytes: Uint8Array; responseBytes: number; windowBytes?: number }): Promise<H2Floor> {
  const window = o.windowBytes ?? 0;
  const server = spawn(process.execPath, [fileURLToPath(new URL("./raw-h2-server.js", import.meta.url)), String(o.responseBytes), String(window)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.once("exit", (code) => reject(new Error(`raw-h2-server exited with ${String(code)}`)));
    server.stdout!.once("data", (d: Buffer) => resolve(JSON.parse(d.toString()).port as number));
  });
  const session = http2.connect(`http://127.0.0.1:${String(port)}`, window > 0 ? { settings: { initialWindowSize: Math.min(window, 2 ** 31 - 1) } } : {});
  await new Promise<void>((resolve, reject) => {
    session.once("connect", () => resolve());
    session.once("error", reject);
  });
  if (window > 0) session.setLocalWindowSize(window);
  const body = Buffer.alloc(5 + o.requestBytes.length);
  body.writeUInt32BE(o.requestBytes.length, 1);
  body.set(o.requestBytes, 5);
  const headers = { ":method": "POST", ":path": o.path, "content-type": "application/grpc", te: "trailers" };

  return {
    pid: server.pid!,
    call() {
      return new Promise<void>((resolve, reject) => {
        const stream = session.request(headers);
        stream.on("data", () => undefined);
        stream.once("end", resolve);
        stream.once("error", reject);
        stream.end(body);
      });
    },
    async stop() {
      session.close();
      const exited = new Promise((r) => server.once("exit", r));
      server.kill("SIGTERM");
      await exited;
    },
  };
}
