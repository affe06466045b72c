/**
 * HTTP/2 servers that do no work, for the transport floor under a gRPC call on this machine,
 * each in a process of its own as a service would be, each answering every POST with a body of
 * the given size:
 *
 * - node: raw-h2-server.ts, bare node:http2 answering as a gRPC server answers a unary call
 *   (what any Node.js gRPC service can do at best);
 * - c: nghttpd, nghttp2's own server (C), serving a file of that size (what the protocol and
 *   this machine's loopback can do at best).
 *
 * Driven by h2load (h2load.ts), whose `url` each returns.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitFor } from "@switchboard/testkit";

export interface H2FloorServer {
  /** The URL to POST to. */
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess, cleanup: () => Promise<void> = async () => {}): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    await cleanup();
  };
}

/** bare node:http2 answering a gRPC-framed message of `responseBytes` (raw-h2-server.ts). */
export async function startNodeH2Floor(o: { path: string; responseBytes: number; windowBytes?: number }): Promise<H2FloorServer> {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./raw-h2-server.js", import.meta.url)), String(o.responseBytes), String(o.windowBytes ?? 0)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`raw-h2-server exited with ${String(code)}`)));
    child.stdout.once("data", (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
  });
  return { url: `http://127.0.0.1:${String(port)}${o.path}`, pid: child.pid!, stop: stopper(child) };
}

/** nghttpd (nghttp2's C server, cleartext HTTP/2) serving `bytes` bytes from a file of its own. */
export async function startCH2Floor(o: { bytes: number }): Promise<H2FloorServer> {
  const root = await mkdtemp(join(tmpdir(), "sb-nghttpd-"));
  await writeFile(join(root, "answer"), Buffer.alloc(o.bytes, 0x2a));
  const port = await freePort();
  // Debian installs it under /usr/sbin, which not every PATH holds.
  const bin = existsSync("/usr/sbin/nghttpd") ? "/usr/sbin/nghttpd" : "nghttpd";
  const child = spawn(bin, ["--no-tls", "--address=127.0.0.1", "-d", root, String(port)], { stdio: ["ignore", "ignore", "inherit"] });
  const cleanup = () => rm(root, { recursive: true, force: true });
  const failed = new Promise<never>((_, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`nghttpd exited with ${String(code)} (apt-get install nghttp2-server)`)));
  });
  failed.catch(() => undefined);
  const listening = waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = connect(port, "127.0.0.1", () => (s.destroy(), resolve(true)));
        s.once("error", () => resolve(false));
      }),
    { what: "nghttpd listening", timeoutMs: 5_000 },
  );
  try {
    await Promise.race([listening, failed]);
  } catch (e: unknown) {
    await stopper(child, cleanup)();
    throw e;
  }
  return { url: `http://127.0.0.1:${String(port)}/answer`, pid: child.pid!, stop: stopper(child, cleanup) };
}
