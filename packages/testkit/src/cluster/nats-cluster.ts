/**
 * A NATS cluster of real nats-servers on loopback: every node routes to every other, and
 * JetStream is clustered (it needs a server_name, a cluster name and a store of its own per
 * node), so streams and KV buckets can be replicated. Each node is a startNatsServer() with a
 * config file; they can be killed, stopped and restarted one by one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateNatsUsers, natsRoles, newNatsPassword, type NatsRole, type NatsTlsFiles } from "@switchboard/bus";
import { natsAccess, type NatsAccess } from "../nats-access.js";
import { startNatsServer, type NatsServer } from "../nats-server.js";
import { freePorts } from "../ports.js";
import { waitFor } from "../wait.js";

export interface NatsCluster extends NatsAccess {
  readonly nodes: readonly NatsServer[];
  /** Each node's server_name (as JetStream names a stream's leader). */
  readonly names: readonly string[];
  /** Every node's client URL, comma-separated (SB_NATS_URL); as() and env() give them all. */
  readonly url: string;
  /** Each node's monitoring port (/healthz, /jsz). */
  readonly monitorPorts: readonly number[];
  /** Resolves once every node reports JetStream healthy (a meta leader, caught up). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** True when the node's /healthz answers ok: JetStream enabled and caught up with the cluster. */
async function natsNodeHealthy(monitorPort: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${monitorPort}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return r.ok;
  } catch {
    return false;
  }
}

/** Starts the nodes; a port taken by someone else between choosing and binding means another try. */
export interface NatsClusterOptions {
  readonly nodes: number;
  readonly name?: string;
  /** Further settings of every node, as nats-server names them (e.g. `{ write_deadline: "1s" }`). */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Presence's buckets (default "any"). */
  readonly presenceBuckets?: readonly string[] | "any";
  /** Credential-less clients connect with this role's rights (a rolling upgrade from a build before NATS authorization). */
  readonly anonymousAs?: NatsRole;
  /** TLS for clients and for the routes between nodes (which verify each other against the CA). */
  readonly tls?: NatsTlsFiles;
  /**
   * The nodes do not tell clients each other's addresses (cluster `no_advertise`): a client
   * knows only the URLs it was given, so one sent through a fault proxy cannot get around it
   * when the proxy cuts it off.
   */
  readonly noAdvertise?: boolean;
}

export async function startNatsCluster(o: NatsClusterOptions): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsClusterOnce(o);
    } catch (e: unknown) {
      if (attempt >= 3 || !/address already in use/.test(String(e instanceof Error ? e.message : e))) throw e;
    }
  }
}

async function startNatsClusterOnce(o: NatsClusterOptions): Promise<NatsCluster> {
  const name = o.name ?? "switchboard";
  const dir = mkdtempSync(join(tmpdir(), "sb-nats-cluster-"));
  const free = await freePorts(o.nodes * 3);
  const ports = Array.from({ length: o.nodes }, (_, i) => ({ client: free[i * 3]!, route: free[i * 3 + 1]!, monitor: free[i * 3 + 2]! }));
  const names = ports.map((_, i) => `${name}-${i}`);
  // One set of users for every node, and a password of their own for the routes.
  const users = generateNatsUsers(natsRoles);
  const routePassword = newNatsPassword();
  const started: NatsServer[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(started.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const launched = await Promise.allSettled(
      ports.map((p, i) => {
        const routes = ports.filter((_, j) => j !== i).map((q) => `127.0.0.1:${q.route}`);
        return startNatsServer({
          port: p.client,
          users,
          presenceBuckets: o.presenceBuckets ?? "any",
          config: {
            serverName: names[i]!,
            http: `127.0.0.1:${p.monitor}`,
            cluster: {
              name,
              listen: `127.0.0.1:${p.route}`,
              routes,
              user: "route",
              password: routePassword,
              ...(o.noAdvertise ? { noAdvertise: true } : {}),
              ...(o.tls ? { tls: o.tls } : {}),
            },
            ...(o.tls ? { tls: o.tls } : {}),
            ...(o.anonymousAs ? { anonymousAs: o.anonymousAs } : {}),
            ...(o.settings ? { extra: o.settings } : {}),
          },
        });
      }),
    );
    for (const r of launched) if (r.status === "fulfilled") started.push(r.value);
    for (const r of launched) if (r.status === "rejected") throw r.reason;
  } catch (e: unknown) {
    await stopAll();
    throw e;
  }
  const monitorPorts = ports.map((p) => p.monitor);
  const cluster: NatsCluster = {
    ...natsAccess(started.map((n) => n.url).join(","), () => users),
    nodes: started,
    names,
    monitorPorts,
    async waitHealthy(timeoutMs = 30_000) {
      await waitFor(async () => (await Promise.all(monitorPorts.map(natsNodeHealthy))).every(Boolean), {
        timeoutMs,
        intervalMs: 100,
        what: "every NATS node to report JetStream healthy",
      });
    },
    stop: stopAll,
  };
  try {
    await cluster.waitHealthy();
  } catch (e: unknown) {
    await stopAll();
    throw e;
  }
  return cluster;
}
