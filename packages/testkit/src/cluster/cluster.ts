/**
 * A production-shaped Switchboard on one machine, laid out by the topology (topology.ts): a
 * NATS cluster with replicated JetStream, replicas of every service behind HAProxy's layer-4
 * ports (as Kubernetes Services), gateways behind HAProxy's HTTP ingress, and PostgreSQL
 * (DATABASE_URL, a database of its own on the machine's server, or a private server for tests
 * that restart it). `make cluster` runs it at full size; tests at size "test".
 */
import { kvBuckets, type NatsRole } from "@switchboard/bus";
import { createTestDatabase } from "../postgres.js";
import { spawnDeployable, type DeployableName } from "../deployables.js";
import { freePorts } from "../ports.js";
import type { ChildHandle } from "../process.js";
import { waitFor } from "../wait.js";
import { startHaproxy, type Haproxy, type ServiceFrontend } from "./haproxy.js";
import { startNatsCluster, type NatsCluster } from "./nats-cluster.js";
import { startPostgresServer, type PostgresServer } from "./postgres-server.js";
import { topology as topologyOf, checkTopology, type ClusterSize, type Topology } from "./topology.js";

type ServiceName = Exclude<DeployableName, "gateway">;

/** A topology's fields to change, nested objects in part. */
export type TopologyChanges = { readonly [K in Exclude<keyof Topology, "size">]?: Topology[K] extends object ? Partial<Topology[K]> : Topology[K] };

export interface ClusterOptions {
  readonly size?: ClusterSize;
  /** Changes to the size's topology (`{ gateways: 3 }`, `{ haproxy: { fall: 3 } }`); checked like the sizes are. */
  readonly topology?: TopologyChanges;
  /**
   * "shared": DATABASE_URL if set, otherwise a database of its own on the machine's server.
   * "private": a PostgreSQL server of its own (postgres-server.ts), for tests that restart it.
   */
  readonly postgres?: "shared" | "private";
  /** Extra environment for every process, or per deployable. */
  readonly env?: Readonly<Record<string, string>>;
  readonly gatewayEnv?: Readonly<Record<string, string>>;
  /** Further settings of every NATS node (nats-cluster.ts), e.g. a shorter write deadline: `{ write_deadline: "1s" }`. */
  readonly natsSettings?: Readonly<Record<string, unknown>>;
  /** Extra environment for accounts only (its KEK, say: by default the process's test KEK). */
  readonly accountsEnv?: Readonly<Record<string, string>>;
  /** The built tree the gateways run from (an older build: buildAtCommit); this repository by default. */
  readonly gatewayRoot?: string;
  /**
   * Clients without NATS credentials connect as this role (nats-cluster.ts): gateways of a build
   * from before NATS authorization (`gatewayRoot`), in a rolling upgrade.
   */
  readonly natsAnonymousAs?: NatsRole;
  /** The NATS nodes do not advertise each other to clients (nats-cluster.ts), for gateways behind a fault proxy. */
  readonly natsNoAdvertise?: boolean;
  /** Every output line of every part, named (make cluster prints them). */
  readonly onLine?: (part: string, line: string) => void;
}

/** One replica of a service: fixed ports, so HAProxy's configuration names it once. */
export interface ServiceReplica {
  readonly name: string;
  readonly grpcPort: number;
  readonly opsPort: number;
  /** The running process (a new one after restart()). */
  readonly process: ChildHandle;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** Stops it (SIGTERM, or SIGKILL when it already died) and starts it again on the same ports. */
  restart(): Promise<void>;
}

export interface ClusterGateway {
  readonly name: string;
  /** HAProxy server-template slot (0-based: gateways/gw<slot+1>). */
  readonly slot: number;
  readonly process: ChildHandle;
  readonly port: number;
  readonly opsPort: number;
  /** http://127.0.0.1:<port>, the gateway itself, bypassing HAProxy. */
  readonly url: string;
}

export interface GatewayPool {
  /** The gateways in HAProxy's pool, in order. */
  readonly list: readonly ClusterGateway[];
  /**
   * Starts a gateway, puts it in a free slot, and waits until HAProxy marks it up. `root`: the
   * built tree it runs from (another build's, for an upgrade), the cluster's gatewayRoot by
   * default; `env`: this gateway's own settings on top of the rest (e.g. SB_NATS_URL through a
   * fault proxy).
   */
  add(o?: GatewayStart): Promise<ClusterGateway>;
  /**
   * SIGTERM to gateway i, as Kubernetes does: its /readyz fails and HAProxy takes it out of the
   * pool by the health check while it drains; once it exited, its slot goes into maintenance.
   */
  remove(i: number): Promise<void>;
  /** A rolling step: add a new gateway first, then remove gateway i; the new one takes index i. */
  replace(i: number, o?: GatewayStart): Promise<ClusterGateway>;
}

/** How a gateway is started: from which built tree. */
export interface GatewayStart {
  readonly root?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface Cluster {
  readonly topology: Topology;
  /** http://127.0.0.1:<port>: HAProxy's ingress, where clients connect. */
  readonly url: string;
  readonly nats: NatsCluster;
  readonly haproxy: Haproxy;
  readonly databaseUrl: string;
  /** Each service's address as its callers reach it: HAProxy's port in front of its replicas. */
  readonly addrs: Readonly<Record<ServiceName, string>>;
  /** Set with postgres: "private". */
  readonly postgres: PostgresServer | undefined;
  readonly services: Readonly<Record<ServiceName, readonly ServiceReplica[]>>;
  readonly gateways: GatewayPool;
  stop(): Promise<void>;
}

const SERVICES: readonly ServiceName[] = ["accounts", "posts", "presence"];
const ENV_PREFIX: Record<ServiceName, string> = { accounts: "SB_ACCOUNTS", posts: "SB_POSTS", presence: "SB_PRESENCE" };

export async function startCluster(o: ClusterOptions = {}): Promise<Cluster> {
  const base = topologyOf(o.size ?? "test");
  const c = o.topology ?? {};
  const t: Topology = {
    ...base,
    ...c,
    services: { ...base.services, ...c.services },
    ingress: { ...base.ingress, ...c.ingress },
    gateway: { ...base.gateway, ...c.gateway },
    haproxy: { ...base.haproxy, ...c.haproxy },
  };
  checkTopology(t);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  };
  const line = (part: string) => (o.onLine ? (l: string) => o.onLine!(part, l) : undefined);
  try {
    // PostgreSQL.
    let databaseUrl: string;
    let postgres: PostgresServer | undefined;
    if (o.postgres === "private") {
      const pg = await startPostgresServer({ name: "cluster" });
      postgres = pg;
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
    } else if (process.env.DATABASE_URL) {
      databaseUrl = process.env.DATABASE_URL;
    } else {
      const db = await createTestDatabase("sb_cluster");
      stops.push(() => db.drop());
      databaseUrl = db.url;
    }

    const nats = await startNatsCluster({
      nodes: t.natsNodes,
      // Presence's one bucket, as in production: its user may touch no other.
      presenceBuckets: [o.env?.SB_PRESENCE_KV_BUCKET ?? kvBuckets.presence.name],
      ...(o.natsSettings ? { settings: o.natsSettings } : {}),
      ...(o.natsNoAdvertise ? { noAdvertise: true } : {}),
      ...(o.natsAnonymousAs ? { anonymousAs: o.natsAnonymousAs } : {}),
    });
    stops.push(() => nats.stop());

    // Every port HAProxy's configuration names, chosen before anything starts.
    const free = await freePorts(1 + SERVICES.reduce((n, s) => n + 1 + 2 * t.services[s], 0));
    const ingressPort = t.ingress.port || free.pop()!;
    const frontends = {} as Record<ServiceName, ServiceFrontend>;
    for (const s of SERVICES) {
      const replicas = Array.from({ length: t.services[s] }, () => ({ grpcPort: free.pop()!, opsPort: free.pop()! }));
      frontends[s] = { name: s, port: free.pop()!, replicas };
    }
    const haproxy = await startHaproxy({
      topology: t,
      port: ingressPort,
      services: Object.values(frontends),
      ...(o.onLine ? { onLine: line("haproxy")! } : {}),
    });
    stops.push(() => haproxy.stop());
    const addr = (s: ServiceName): string => `127.0.0.1:${frontends[s].port}`;

    const dbPool = String(t.dbPoolSize);
    const base = { SB_ACCOUNTS_DB_POOL_SIZE: dbPool, SB_POSTS_DB_POOL_SIZE: dbPool, ...o.env, SB_NATS_URL: nats.url, DATABASE_URL: databaseUrl };
    const serviceEnv = (s: ServiceName, i: number): Record<string, string> => {
      const p = ENV_PREFIX[s];
      const r = frontends[s].replicas[i]!;
      const common = { ...nats.env(s), ...base, SB_POD_NAME: `${s}-${i}`, [`${p}_GRPC_PORT`]: String(r.grpcPort), [`${p}_OPS_PORT`]: String(r.opsPort) };
      switch (s) {
        case "accounts":
          return { ...common, SB_ACCOUNTS_CONTROL_REPLICAS: String(t.natsReplicas), ...o.accountsEnv };
        case "posts":
          return {
            ...common,
            SB_POSTS_EVENT_REPLICAS: String(t.natsReplicas),
            SB_POSTS_ACCOUNTS_ADDR: addr("accounts"),
            SB_POSTS_PRESENCE_ADDR: addr("presence"),
          };
        case "presence":
          return {
            ...common,
            SB_PRESENCE_KV_REPLICAS: String(t.natsReplicas),
            SB_PRESENCE_ACCOUNTS_ADDR: addr("accounts"),
            SB_PRESENCE_POSTS_ADDR: addr("posts"),
          };
      }
    };
    const replicas: Record<ServiceName, ServiceReplica[]> = { accounts: [], posts: [], presence: [] };
    const startReplica = async (s: ServiceName, i: number): Promise<ServiceReplica> => {
      const name = `${s}-${i}`;
      const r = frontends[s].replicas[i]!;
      let proc = await spawnDeployable(s, serviceEnv(s, i), undefined, line(name));
      const replica: ServiceReplica = {
        name,
        grpcPort: r.grpcPort,
        opsPort: r.opsPort,
        get process() {
          return proc;
        },
        async kill() {
          proc.signal("SIGKILL");
          await proc.exited;
        },
        async restart() {
          await proc.stop(10_000);
          proc = await spawnDeployable(s, serviceEnv(s, i), undefined, line(name));
        },
      };
      stops.push(() => proc.stop(10_000));
      return replica;
    };
    // accounts first (the others fetch its keys), then posts and presence side by side.
    const startService = async (s: ServiceName): Promise<void> => {
      const started = await Promise.allSettled(frontends[s].replicas.map((_, i) => startReplica(s, i)));
      for (const r of started) if (r.status === "fulfilled") replicas[s].push(r.value);
      for (const r of started) if (r.status === "rejected") throw r.reason;
      // Its callers reach it through HAProxy: wait until HAProxy sends connections there.
      await waitFor(async () => (await haproxy.serviceState(s)).every((r) => r.status.startsWith("UP")), {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: `haproxy to mark every ${s} replica up`,
      });
    };
    await startService("accounts");
    await Promise.all([startService("posts"), startService("presence")]);

    // Gateways: filled into HAProxy's slots through the runtime API.
    const gatewayList: ClusterGateway[] = [];
    const usedSlots = new Set<number>();
    let gatewaySeq = 0;
    const gatewayEnv = (name: string): Record<string, string> => ({
      ...nats.env("gateway"),
      ...base,
      SB_POD_NAME: name,
      SB_GATEWAY_LISTEN_PORT: "0",
      SB_GATEWAY_OPS_PORT: "0",
      SB_GATEWAY_ACCOUNTS_ADDR: addr("accounts"),
      SB_GATEWAY_POSTS_ADDR: addr("posts"),
      SB_GATEWAY_PRESENCE_ADDR: addr("presence"),
      SB_GATEWAY_IDLE_TIMEOUT_S: String(t.gateway.idleTimeoutS),
      SB_GATEWAY_PRESTOP_DELAY_MS: String(t.gateway.preStopDelayMs),
      SB_GATEWAY_SHUTDOWN_DEADLINE_MS: String(t.gateway.shutdownDeadlineMs),
      // HAProxy is the only proxy whose X-Forwarded-For the gateways believe.
      SB_GATEWAY_TRUSTED_PROXY_IP_HEADER: "X-Forwarded-For",
      SB_GATEWAY_TRUSTED_PROXIES: "127.0.0.1/32",
      ...o.gatewayEnv,
    });
    // As Kubernetes' terminationGracePeriodSeconds: SIGKILL only past the gateway's own deadline.
    const gatewayGraceMs = t.gateway.shutdownDeadlineMs + 5_000;
    const running = new Set<ChildHandle>();
    stops.push(async () => {
      await Promise.all([...running].map((p) => p.stop(gatewayGraceMs)));
    });
    const add = async (start: GatewayStart = {}): Promise<ClusterGateway> => {
      let slot = 0;
      while (usedSlots.has(slot)) slot++;
      if (slot >= t.gatewaySlots) throw new Error(`every one of HAProxy's ${t.gatewaySlots} gateway slots is taken`);
      usedSlots.add(slot);
      const name = `gateway-${gatewaySeq++}`;
      try {
        const proc = await spawnDeployable("gateway", { ...gatewayEnv(name), ...start.env }, undefined, line(name), start.root ?? o.gatewayRoot);
        running.add(proc);
        void proc.exited.then(() => running.delete(proc));
        const g: ClusterGateway = {
          name,
          slot,
          process: proc,
          port: Number(proc.ready.port),
          opsPort: Number(proc.ready.ops_port),
          url: `http://127.0.0.1:${String(proc.ready.port)}`,
        };
        await haproxy.fillSlot(slot, { port: g.port, checkPort: g.opsPort });
        await haproxy.waitSlot(slot, "UP", 30_000);
        return g;
      } catch (e: unknown) {
        usedSlots.delete(slot);
        throw e;
      }
    };
    const take = (i: number): ClusterGateway => {
      const g = gatewayList[i];
      if (!g) throw new Error(`no gateway ${i}: the pool has ${gatewayList.length}`);
      return g;
    };
    const retire = async (g: ClusterGateway): Promise<void> => {
      await g.process.stop(gatewayGraceMs);
      await haproxy.emptySlot(g.slot);
      usedSlots.delete(g.slot);
    };
    const pool: GatewayPool = {
      get list() {
        return gatewayList;
      },
      async add(start) {
        const g = await add(start);
        gatewayList.push(g);
        return g;
      },
      async remove(i) {
        const g = take(i);
        gatewayList.splice(i, 1);
        await retire(g);
      },
      async replace(i, start) {
        const old = take(i);
        const g = await add(start);
        gatewayList[i] = g;
        await retire(old);
        return g;
      },
    };
    const first = await Promise.allSettled(Array.from({ length: t.gateways }, () => add()));
    for (const r of first) if (r.status === "fulfilled") gatewayList.push(r.value);
    for (const r of first) if (r.status === "rejected") throw r.reason;
    gatewayList.sort((a, b) => a.slot - b.slot);

    return {
      topology: t,
      url: haproxy.url,
      nats,
      haproxy,
      databaseUrl,
      addrs: { accounts: addr("accounts"), posts: addr("posts"), presence: addr("presence") },
      postgres,
      services: replicas,
      gateways: pool,
      stop: stopAll,
    };
  } catch (e: unknown) {
    await stopAll();
    throw e;
  }
}
