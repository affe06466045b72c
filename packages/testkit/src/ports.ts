import { createServer, type Server } from "node:net";

/** A TCP port that was free a moment ago on 127.0.0.1 (for servers that cannot take port 0). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** n distinct TCP ports that were free a moment ago (all held open until every one is chosen). */
export async function freePorts(n: number, host = "127.0.0.1"): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, host, () => resolve());
      });
    }
    return servers.map((s) => {
      const addr = s.address();
      return typeof addr === "object" && addr ? addr.port : 0;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}
