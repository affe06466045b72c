/**
 * The presence service's composition root: startPresenceApp wires the runtime parts and the
 * domain; importing this module has no side effects.
 */
import { createSessionAuth } from "@switchboard/auth";
import { openKv, streams, waitForStream, type Bus } from "@switchboard/bus";
import { newId } from "@switchboard/model";
import { AccountsService } from "@switchboard/proto/accounts";
import { PostsService } from "@switchboard/proto/posts";
import { PresenceService as PresenceServiceDesc } from "@switchboard/proto/presence";
import { createRpcClient } from "@switchboard/rpc";
import {
  assembleApp,
  clientComponent,
  busComponent,
  createRuntime,
  opsServerComponent,
  rpcServerComponent,
  type Runtime,
  type AppDeps,
  rpcCaller,
} from "@switchboard/runtime";
import type { PresenceConfig } from "./config.js";
import { decodeGetStatusesRequest } from "./get-statuses-decoder.js";
import { presenceHandlers } from "./grpc-handlers.js";
import { createPresenceMetrics } from "./metrics.js";
import { createLeaseManager } from "./presence/lease-manager.js";
import { createPartnerDirectory } from "./presence/partner-directory.js";
import { createIpWriter } from "./presence/ip-writer.js";
import { createPresenceEngine } from "./presence/presence-engine.js";
import { createStatusPublisher } from "./presence/status-publisher.js";
import type { Timing } from "./presence/status-rules.js";
import { sweeperComponent } from "./presence/sweeper.js";
import { createUserWriter } from "./presence/user-writer.js";
import { cacheSyncComponent } from "./store/cache-sync.js";
import { PresenceCache } from "./store/presence-cache.js";
import { createReadBarrier } from "./store/read-barrier.js";
import { watchLagFailpoint } from "./store/watch-lag.js";
import { createPresenceKv } from "./store/presence-kv.js";

export { loadPresenceConfig, describePresenceConfig, presenceSchema, type PresenceConfig } from "./config.js";
export { MAX_IDS_PER_CALL } from "./grpc-handlers.js";

export interface PresenceApp {
  readonly grpcPort: number;
  readonly opsPort: number;
  stop(): Promise<void>;
}

const PUBLISH_TIMEOUT_MS = 2_000;
/** How long a status read waits for this replica's cache to catch up (then it answers as it is). */
const READ_BARRIER_TIMEOUT_MS = 1_000;

function timingOf(c: PresenceConfig): Timing {
  return {
    graceMs: c.offlineGraceMs,
    awayAfterMs: c.awayAfterMs,
    activityWriteIntervalMs: c.activityWriteIntervalMs,
    republishAfterMs: c.republishAfterMs,
  };
}

async function buildAuth(rt: Runtime, c: PresenceConfig, callAs: ReturnType<typeof rpcCaller>, bus: Bus) {
  const accounts = createRpcClient(AccountsService, { address: c.accountsAddr, defaultDeadlineMs: 5_000, ...callAs("accounts") });
  await rt.lifecycle.start(clientComponent("accounts-client", accounts));
  return rt.lifecycle.start(createSessionAuth({ accounts, bus, log: rt.log }));
}

async function buildPartners(rt: Runtime, c: PresenceConfig, callAs: ReturnType<typeof rpcCaller>, metrics: ReturnType<typeof createPresenceMetrics>) {
  if (!c.pushToPartners) return undefined;
  const posts = createRpcClient(PostsService, { address: c.postsAddr, defaultDeadlineMs: 2_000, ...callAs("posts") });
  await rt.lifecycle.start(clientComponent("posts-client", posts));
  return createPartnerDirectory({ posts, cacheMs: c.partnersCacheMs, metrics, log: rt.log.child({ part: "partners" }) });
}

export async function startPresenceApp(config: PresenceConfig, deps: AppDeps = {}): Promise<PresenceApp> {
  const rt = createRuntime({ name: "presence", podName: config.podName, logLevel: config.logLevel, failpoints: config.failpoints, log: deps.log });
  const { lifecycle } = rt;
  return assembleApp(
    rt,
    async () => {
      const ops = await lifecycle.start(opsServerComponent(rt, config.opsHost, config.opsPort));
      const { bus } = await lifecycle.start(busComponent(rt, { config, clientName: `${config.podName}/presence` }));
      // Posts owns SB_EVT (creates and configures it); status changes are stored there.
      await waitForStream(bus, streams.events.name, {
        onWait: (n) => {
          if (n % 20 === 1) rt.log.warn({ stream: streams.events.name }, "waiting for posts to create the event stream");
        },
      });
      const metrics = createPresenceMetrics(rt.metrics);
      const timing = timingOf(config);

      rt.readiness.set("kv", false);
      const kv = createPresenceKv(await openKv(bus, { bucket: config.kvBucket, history: 1, storage: config.kvStorage, replicas: config.kvReplicas }), metrics);
      const cache = new PresenceCache(timing, (key, err) => rt.log.warn({ key, err }, "undecodable presence record ignored"));
      await lifecycle.start(
        cacheSyncComponent({
          kv,
          cache,
          replicaId: newId(),
          probeIntervalMs: config.watchProbeIntervalMs,
          metrics,
          log: rt.log,
          setReady: (ok) => rt.readiness.set("kv", ok),
          lagMs: watchLagFailpoint(config.failpoints),
        }),
      );
      metrics.registerGauges({ activeLeases: () => cache.openLeaseCount, cachedUsers: () => cache.userCount, activeUsers: () => cache.activeCount });

      const callAs = rpcCaller("presence", config);
      const auth = await buildAuth(rt, config, callAs, bus);
      const partners = await buildPartners(rt, config, callAs, metrics);
      const writer = createUserWriter({ kv, cache, metrics });
      const publisher = await lifecycle.start(
        createStatusPublisher({
          bus,
          writer,
          ...(partners ? { partners } : {}),
          metrics,
          log: rt.log,
          publishTimeoutMs: PUBLISH_TIMEOUT_MS,
          republishAfterMs: config.republishAfterMs,
        }),
      );
      const leases = createLeaseManager({
        kv,
        cache,
        metrics,
        log: rt.log,
        ttlMs: config.leaseTtlMs,
        graceMs: config.offlineGraceMs,
        sweepIntervalMs: config.sweepIntervalMs,
      });
      const engine = createPresenceEngine({
        writer,
        publisher,
        leases,
        usersOfLease: (id) => cache.usersOfLease(id),
        timing,
        maxPerUser: config.maxConnectionsPerUser,
        ...(config.maxConnectionsPerIp > 0
          ? { ipWriter: createIpWriter({ kv, max: config.maxConnectionsPerIp, leaseClosed: async (id) => (await leases.closedAt(id)) !== undefined }) }
          : {}),
        metrics,
        failpoints: rt.failpoints,
      });
      await lifecycle.start(sweeperComponent({ engine, leases, cache, intervalMs: config.sweepIntervalMs, metrics, log: rt.log }));

      const grpc = await lifecycle.start(
        rpcServerComponent(rt, config, (server) =>
          server.add(
            PresenceServiceDesc,
            presenceHandlers({
              engine,
              leases,
              cache,
              ...(config.readBarrier ? { barrier: createReadBarrier({ kv, cache, timeoutMs: READ_BARRIER_TIMEOUT_MS }) } : {}),
              actor: (ctx) => auth.actor(ctx),
            }),
            {
              getStatuses: decodeGetStatusesRequest,
            },
          ),
        ),
      );
      return {
        app: {
          grpcPort: grpc.port,
          opsPort: ops.port,
        },
        ready: { grpc_port: grpc.port, grpc_health_port: grpc.healthPort, grpc_server: grpc.server.transport, ops_port: ops.port },
      };
    },
    deps.signal,
  );
}
