import { connectBus, type Bus } from "@switchboard/bus";
import { migrate, openDatabase, type Db, type Migration } from "@switchboard/db";
import {
  createFailpoints,
  createLifecycle,
  createReadiness,
  StoppingError,
  type Component,
  type Failpoints,
  type Lifecycle,
  type ReadinessTracker,
} from "@switchboard/lifecycle";
import { createLogger, type Logger, type LogLevel } from "@switchboard/log";
import { createMetricsRegistry, startOpsServer, type MetricsRegistry, type OpsServer } from "@switchboard/metrics";
import { createRpcServer, H2_LIMIT_SETTINGS, type H2Limits, type RpcServer, type RpcServerTransport } from "@switchboard/rpc";
import { rpcServerAuth, type RpcAuthSettings } from "./rpc-auth.js";
import { h2SettingKey, type H2LimitSettings } from "./settings.js";

/** The parts every deployable has, created once in createApp. */
export interface Runtime {
  readonly name: string;
  readonly log: Logger;
  readonly metrics: MetricsRegistry;
  readonly readiness: ReadinessTracker;
  readonly lifecycle: Lifecycle;
  readonly failpoints: Failpoints;
}

/** What a deployable's start function takes besides its configuration. */
export interface AppDeps {
  /** The process's logger (tests pass a silent one); one is created when absent. */
  readonly log?: Logger | undefined;
  /** Aborts when a shutdown signal arrives before the start-up finished (see assembleApp). */
  readonly signal?: AbortSignal | undefined;
}

export function createRuntime(o: { name: string; podName: string; logLevel: LogLevel; failpoints: readonly string[]; log?: Logger | undefined }): Runtime {
  const log = o.log ?? createLogger({ name: o.name, level: o.logLevel });
  if (o.failpoints.length > 0) log.warn({ failpoints: o.failpoints }, "test failpoints enabled");
  return {
    name: o.name,
    log,
    metrics: createMetricsRegistry({ defaultLabels: { component: o.name } }),
    readiness: createReadiness(),
    lifecycle: createLifecycle(log),
    failpoints: createFailpoints(o.failpoints, (name) => log.warn({ failpoint: name }, "failpoint hit: crashing")),
  };
}

export function opsServerComponent(rt: Runtime, host: string, port: number): Component & { readonly port: number } {
  let server: OpsServer | undefined;
  return {
    name: "ops-server",
    get port() {
      return server?.port ?? 0;
    },
    async start() {
      server = await startOpsServer({ host, port, registry: rt.metrics, readiness: () => rt.readiness.snapshot() });
    },
    async stop() {
      await server?.close();
    },
  };
}

/** The NATS settings of commonSettings() a connection takes. */
export interface NatsClientSettings {
  readonly natsUrl: string;
  readonly natsUser: string;
  readonly natsPassword: string;
  readonly natsPasswordFile: string;
  readonly natsTlsCa: string;
  readonly natsTlsCert: string;
  readonly natsTlsKey: string;
}

/** NATS: readiness "nats" follows the connection; draining on stop delivers what is pending. */
export function busComponent(rt: Runtime, o: { config: NatsClientSettings; clientName: string }): Component & { readonly bus: Bus } {
  const c = o.config;
  let bus: Bus | undefined;
  const up = rt.metrics.gauge({ name: "sb_nats_connected", help: "1 while connected to NATS" });
  const disconnects = rt.metrics.counter({ name: "sb_nats_disconnects_total", help: "NATS connection losses" });
  rt.readiness.set("nats", false);
  return {
    name: "nats",
    get bus() {
      if (!bus) throw new Error("nats not started");
      return bus;
    },
    async start() {
      bus = await connectBus({
        servers: c.natsUrl,
        name: o.clientName,
        ...(c.natsUser ? { user: c.natsUser, ...(c.natsPasswordFile ? { passFile: c.natsPasswordFile } : { pass: c.natsPassword }) } : {}),
        ...(c.natsTlsCa ? { tls: { caFile: c.natsTlsCa, ...(c.natsTlsCert ? { certFile: c.natsTlsCert, keyFile: c.natsTlsKey } : {}) } } : {}),
        onStatus: (s) => {
          const ok = s.state === "connected";
          rt.readiness.set("nats", ok);
          up.set(ok ? 1 : 0);
          if (s.state === "disconnected") {
            disconnects.inc();
            rt.log.warn({ server: s.server }, "nats disconnected");
          } else if (s.state === "connected" && s.server) rt.log.info({ server: s.server }, "nats reconnected");
          else if (s.state === "closed") rt.log.warn({ err: s.error }, "nats connection closed");
          else if (s.error) rt.log.warn({ err: s.error }, "nats error (a permissions violation names the subject its user may not use)");
        },
      });
      rt.readiness.set("nats", true);
      up.set(1);
    },
    async stop() {
      await bus?.drain().catch(() => bus?.close());
    },
  };
}

/** The database, migrated at start; readiness "database" follows a periodic ping. */
export function databaseComponent(
  rt: Runtime,
  o: { url: string; pgliteDir: string; schema: string; poolSize: number; migrations: readonly Migration[] },
): Component & { readonly db: Db } {
  let db: Db | undefined;
  let timer: NodeJS.Timeout | undefined;
  rt.readiness.set("database", false);
  return {
    name: "database",
    get db() {
      if (!db) throw new Error("database not started");
      return db;
    },
    async start() {
      db = await openDatabase({
        url: o.url,
        dataDir: o.pgliteDir,
        schema: o.schema,
        poolSize: o.poolSize,
        onError: (e) => rt.log.warn({ err: e }, "database connection error"),
      });
      const applied = await migrate(db, o.schema, o.migrations);
      rt.log.info({ driver: db.kind, schema: o.schema, applied }, "database ready");
      rt.readiness.set("database", true);
      const d = db;
      timer = setInterval(() => {
        void d.ping().then((ok) => rt.readiness.set("database", ok));
      }, 2_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await db?.close();
    },
  };
}

/** The settings grpcSettings() declares, plus the shutdown deadline (half of it is the grace). */
export interface GrpcServerSettings extends RpcAuthSettings {
  readonly grpcHost: string;
  readonly grpcPort: number;
  readonly grpcHealthPort: number;
  readonly grpcMaxMessageBytes: number;
  readonly grpcDefaultDeadlineMs: number;
  readonly grpcReflection: boolean;
  readonly grpcServer: RpcServerTransport;
  readonly shutdownDeadlineMs: number;
}

/** The gRPC server's settings with the own HTTP/2 server's limits (SB_RPC_H2_*, settings.ts). */
type GrpcServerConfig = GrpcServerSettings & { readonly [K in keyof H2LimitSettings]: number };

/** The gRPC server: SERVING once started and ready; NOT_SERVING first thing on stop. */
export function rpcServerComponent(
  rt: Runtime,
  settings: GrpcServerConfig,
  register: (server: RpcServer) => void,
): Component & { readonly port: number; readonly healthPort: number; readonly server: RpcServer } {
  const { tokenCallers, ...auth } = rpcServerAuth(rt.name, settings);
  if (tokenCallers) rt.log.info({ rpcAuth: "token", tokenCallers }, "gRPC callers name themselves by service tokens");
  const o = {
    transport: settings.grpcServer,
    host: settings.grpcHost,
    port: settings.grpcPort,
    maxMessageBytes: settings.grpcMaxMessageBytes,
    defaultDeadlineMs: settings.grpcDefaultDeadlineMs,
    reflection: settings.grpcReflection,
    healthPort: settings.grpcHealthPort,
    ...auth,
    graceMs: Math.floor(settings.shutdownDeadlineMs / 2),
    h2Limits: Object.fromEntries(H2_LIMIT_SETTINGS.map((l) => [l.key, settings[h2SettingKey(l.key)]])) as unknown as H2Limits,
  };
  const server = createRpcServer({ ...o, logger: rt.log, metrics: rt.metrics });
  register(server);
  let port = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    name: "grpc-server",
    server,
    get port() {
      return port;
    },
    get healthPort() {
      return server.healthPort ?? 0;
    },
    async start() {
      port = await server.start();
      const sync = (): void => server.health.setServing(rt.readiness.snapshot().ready);
      sync();
      timer = setInterval(sync, 1_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await server.stop(o.graceMs);
    },
  };
}

/**
 * Runs a deployable's start-up: on success logs "ready" with the given fields (ports) and
 * returns the app with an ordered stop (not ready first, then every component in reverse);
 * on failure stops what had started and rethrows.
 *
 * When `abandon` aborts before the start-up finished, it stops what had started and rejects
 * at once, without waiting for the step under way (which may wait for NATS indefinitely);
 * a component that finishes starting after that is stopped by the lifecycle.
 */
export async function assembleApp<T extends object>(
  rt: Runtime,
  build: () => Promise<{ readonly app: T; readonly ready: Record<string, unknown> }>,
  abandon?: AbortSignal,
): Promise<T & { stop(): Promise<void> }> {
  const building = build();
  // Whichever of the two loses the race settles unobserved: mark both handled.
  building.catch(() => undefined);
  let onAbort = (): void => undefined;
  const abandoned = new Promise<never>((_, reject) => {
    onAbort = () => reject(new StoppingError("start-up abandoned"));
  });
  abandoned.catch(() => undefined);
  if (abandon?.aborted) onAbort();
  else abandon?.addEventListener("abort", onAbort, { once: true });
  try {
    const { app, ready } = await Promise.race([building, abandoned]);
    rt.log.info(ready, "ready");
    return {
      ...app,
      async stop() {
        rt.readiness.drain();
        await rt.lifecycle.stopAll();
      },
    };
  } catch (e: unknown) {
    await rt.lifecycle.stopAll();
    throw e;
  } finally {
    abandon?.removeEventListener("abort", onAbort);
  }
}

/** A gRPC client (or anything closable) as a component, so stopping the app closes it. */
export function clientComponent<C extends { close(): void }>(name: string, client: C): Component & { readonly client: C } {
  return { name, client, start: async () => {}, stop: async () => client.close() };
}
