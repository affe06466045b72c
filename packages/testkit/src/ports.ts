import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";

/**
 * Ports for servers that cannot take port 0 are chosen below the kernel's ephemeral range.
 * A port the kernel handed out for a listen on 0 and that was closed again is back in the
 * pool it assigns to outgoing connections: with the suites running side by side (thousands of
 * client sockets to nats-server, PostgreSQL and the gateways), one of those took such a port
 * between the check and the server's own listen, and the server failed with EADDRINUSE (a
 * clean-clone CI run's rolling-restart cluster, a posts replica). A port below the range is
 * never given to an outgoing connection; a random pick, checked by listening on it, keeps
 * side-by-side test files apart.
 */
const FLOOR = 15_000;

function ephemeralStart(): number {
  try {
    const [lo] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const n = Number(lo);
    if (Number.isInteger(n) && n > FLOOR + 1_000) return n;
  } catch {
    // Not Linux, or no /proc: the range Linux uses by default.
  }
  return 32_768;
}

const CEILING = ephemeralStart();

function listenOn(srv: Server, port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      if (e.code === "EADDRINUSE" || e.code === "EACCES") resolve(false);
      else reject(e);
    };
    srv.once("error", onError);
    srv.listen(port, host, () => {
      srv.off("error", onError);
      resolve(true);
    });
  });
}

/** Holds a free port below the ephemeral range open; the caller closes the server. */
async function holdOne(host: string, taken: Set<number>): Promise<{ srv: Server; port: number }> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = FLOOR + Math.floor(Math.random() * (CEILING - FLOOR));
    if (taken.has(port)) continue;
    const srv = createServer();
    srv.unref();
    if (await listenOn(srv, port, host)) return { srv, port };
  }
  throw new Error(`no free port found between ${FLOOR} and ${CEILING} after 200 tries`);
}

/** A TCP port that was free a moment ago on 127.0.0.1 (for servers that cannot take port 0). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return (await freePorts(1, host))[0]!;
}

/** n distinct TCP ports that were free a moment ago (all held open until every one is chosen). */
export async function freePorts(n: number, host = "127.0.0.1"): Promise<number[]> {
  const held: { srv: Server; port: number }[] = [];
  const taken = new Set<number>();
  try {
    for (let i = 0; i < n; i++) {
      const h = await holdOne(host, taken);
      held.push(h);
      taken.add(h.port);
    }
    return held.map((h) => h.port);
  } finally {
    await Promise.all(held.map((h) => new Promise((r) => h.srv.close(r))));
  }
}
