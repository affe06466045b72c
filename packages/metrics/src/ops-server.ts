import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { MetricsRegistry } from "./registry.js";

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready (dependency down, draining, starting). */
  readonly reasons: readonly string[];
}

export interface OpsServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly registry: MetricsRegistry;
  readonly readiness: () => Readiness;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The internal HTTP port: /metrics (Prometheus), /healthz (the process answers: liveness),
 * /readyz (dependencies connected and not draining: readiness).
 */
export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const r = opts.readiness();
      res.writeHead(r.ready ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ ready: r.ready, reasons: r.reasons }) + "\n");
    } else if (path === "/metrics") {
      opts.registry.render().then(
        (body) => res.writeHead(200, { "content-type": opts.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
