/**
 * The posts service's composition root: startPostsApp wires the runtime parts and the
 * domain; importing this module has no side effects.
 */
import { createSessionAuth } from "@switchboard/auth";
import { ensureStream, eventStreamSpec } from "@switchboard/bus";
import type { MetricsRegistry } from "@switchboard/metrics";
import { createOutboxRelay } from "@switchboard/outbox";
import { AccountsService } from "@switchboard/proto/accounts";
import { PresenceService } from "@switchboard/proto/presence";
import { PostsService as PostsServiceDesc } from "@switchboard/proto/posts";
import { createRpcClient, type AccountsClient } from "@switchboard/rpc";
import {
  assembleApp,
  clientComponent,
  busComponent,
  createRuntime,
  databaseComponent,
  opsServerComponent,
  rpcServerComponent,
  type Runtime,
  type AppDeps,
  rpcCaller,
} from "@switchboard/runtime";
import { createChannelEvents } from "./channels/channel-events.js";
import { createChannelService } from "./channels/channel-service.js";
import { createChannelPrivacy } from "./channels/channel-privacy.js";
import { createChannelStats } from "./channels/channel-stats.js";
import { createMemberIds } from "./members/member-ids.js";
import { createDirectChannelService } from "./channels/direct-channels.js";
import { createMembershipService } from "./channels/membership-service.js";
import { createReadStateService } from "./channels/read-state.js";
import type { PostsConfig } from "./config.js";
import type { Deps } from "./deps.js";
import { postsHandlers } from "./grpc/posts-handlers.js";
import { createPostsMetrics } from "./metrics.js";
import { migrations, SCHEMA } from "./migrations.js";
import { createPostCreator } from "./posts/create-post.js";
import { createPostEditor } from "./posts/edit-post.js";
import { createPostReader } from "./posts/read-posts.js";
import { createReactionService } from "./reactions/reaction-service.js";
import { createRelayDoorbell } from "./relay-doorbell.js";
import { createSidebarService } from "./sidebar/sidebar-categories.js";
import { createThreadService } from "./threads/thread-service.js";
import { createFlaggedPosts } from "./posts/flagged-posts.js";
import { createTeamFacts } from "./teams/team-facts.js";
import { createTeamService } from "./teams/team-service.js";
import { createOnlineDirectory } from "./users/online-directory.js";
import { createUserDirectory } from "./users/user-directory.js";

export { loadPostsConfig, describePostsConfig, postsSchema, type PostsConfig } from "./config.js";

export interface PostsApp {
  readonly grpcPort: number;
  readonly opsPort: number;
  readonly metrics: MetricsRegistry;
  stop(): Promise<void>;
}

/** Session verification; readiness "session-auth" follows it (calls wait for it meanwhile). */
async function buildAuth(rt: Runtime, accounts: AccountsClient, bus: Parameters<typeof createSessionAuth>[0]["bus"]) {
  rt.readiness.set("session-auth", false);
  const session = await rt.lifecycle.start(createSessionAuth({ accounts, bus, log: rt.log }));
  void session.whenReady().then(() => rt.readiness.set("session-auth", true));
  return session;
}

function buildServices(d: Deps) {
  return {
    teams: createTeamService(d),
    channels: createChannelService(d),
    privacy: createChannelPrivacy(d),
    members: createMembershipService(d),
    direct: createDirectChannelService(d),
    channelEvents: createChannelEvents(d),
    memberIds: createMemberIds(d),
    creator: createPostCreator(d),
    editor: createPostEditor(d),
    reader: createPostReader(d),
    reactions: createReactionService(d),
    readState: createReadStateService(d),
    channelStats: createChannelStats(d),
    teamFacts: createTeamFacts(d),
    sidebar: createSidebarService(d),
    threads: createThreadService(d),
    flagged: createFlaggedPosts(d),
  };
}

export async function startPostsApp(config: PostsConfig, deps: AppDeps = {}): Promise<PostsApp> {
  const rt = createRuntime({ name: "posts", podName: config.podName, logLevel: config.logLevel, failpoints: config.failpoints, log: deps.log });
  const { lifecycle } = rt;
  return assembleApp(
    rt,
    async () => {
      const ops = await lifecycle.start(opsServerComponent(rt, config.opsHost, config.opsPort));
      const { db } = await lifecycle.start(
        databaseComponent(rt, { url: config.databaseUrl, pgliteDir: config.pgliteDir, schema: SCHEMA, poolSize: config.dbPoolSize, migrations }),
      );
      const { bus } = await lifecycle.start(busComponent(rt, { config, clientName: `${config.podName}/posts` }));
      await ensureStream(bus, eventStreamSpec({ maxAgeMs: config.eventRetentionMs, storage: config.eventStorage, replicas: config.eventReplicas }));
      const relay = await lifecycle.start(
        // No LISTEN: writers here never NOTIFY; the doorbell wakes the relay (packages/outbox/src/outbox-relay.ts, "Waking up").
        createOutboxRelay({
          db,
          bus,
          schema: SCHEMA,
          log: rt.log,
          metrics: rt.metrics,
          failpoints: rt.failpoints,
          pollIntervalMs: config.relayPollMs,
          listen: false,
          eventLogRetentionMs: config.eventLogRetentionMs,
        }),
      );
      const doorbell = await lifecycle.start(createRelayDoorbell({ bus, relay, schema: SCHEMA }));
      const callAs = rpcCaller("posts", config);
      const { client: accounts } = await lifecycle.start(
        clientComponent(
          "accounts-client",
          createRpcClient(AccountsService, {
            address: config.accountsAddr,
            defaultDeadlineMs: config.accountsDeadlineMs,
            ...callAs("accounts"),
          }),
        ),
      );
      const { client: presence } = await lifecycle.start(
        clientComponent(
          "presence-client",
          createRpcClient(PresenceService, {
            address: config.presenceAddr,
            defaultDeadlineMs: config.presenceDeadlineMs,
            ...callAs("presence"),
          }),
        ),
      );
      const auth = await buildAuth(rt, accounts, bus);
      const metrics = createPostsMetrics(rt.metrics);
      const users = createUserDirectory({ accounts, ttlMs: config.userCacheTtlMs, maxEntries: config.userCacheSize, deadlineMs: config.accountsDeadlineMs });
      const online = createOnlineDirectory({ presence, deadlineMs: config.presenceDeadlineMs, log: rt.log, onFailure: metrics.presenceLookupFailed });
      const services = buildServices({
        db,
        users,
        online,
        maxNotificationsPerChannel: config.maxNotificationsPerChannel,
        metrics,
        log: rt.log,
        failpoints: rt.failpoints,
        onCommit: () => doorbell.ring(),
      });
      const grpc = await lifecycle.start(rpcServerComponent(rt, config, (server) => server.add(PostsServiceDesc, postsHandlers(services, auth, metrics))));
      return {
        app: {
          grpcPort: grpc.port,
          opsPort: ops.port,
          metrics: rt.metrics,
        },
        ready: { grpc_port: grpc.port, grpc_health_port: grpc.healthPort, grpc_server: grpc.server.transport, ops_port: ops.port },
      };
    },
    deps.signal,
  );
}
