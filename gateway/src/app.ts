/**
 * The gateway's composition root: runtime parts, service clients, session verification, the
 * fan-out hub, connection lifecycle, the WebSocket endpoint and the REST slice on one uWS app.
 * Importing this module has no side effects.
 */
import { createSessionAuth } from "@switchboard/auth";
import type { Component } from "@switchboard/lifecycle";
import { AccountsService } from "@switchboard/proto/accounts";
import { PostsService } from "@switchboard/proto/posts";
import { PresenceService } from "@switchboard/proto/presence";
import { createRpcClient } from "@switchboard/rpc";
import { assembleApp, clientComponent, busComponent, createRuntime, opsServerComponent, type AppDeps } from "@switchboard/runtime";
import { clientConfig, versionId } from "./client-config.js";
import type { GatewayConfig } from "./config.js";
import { CloseCode } from "./errors.js";
import { createGatewayMetrics } from "./metrics.js";
import { PresenceReporter } from "./presence/presence-reporter.js";
import { channelsRoutes } from "./rest/channels-routes.js";
import { postsRoutes } from "./rest/posts-routes.js";
import { createRestAuth } from "./rest/rest-auth.js";
import type { RestDeps } from "./rest/rest-deps.js";
import { statusRoutes } from "./rest/status-routes.js";
import { systemRoutes } from "./rest/system-routes.js";
import { teamsRoutes } from "./rest/teams-routes.js";
import { usersRoutes } from "./rest/users-routes.js";
import { Hub } from "./routing/hub.js";
import { registerRoutes } from "./transport/http-server.js";
import { uws, type Uws } from "./transport/uws.js";
import { registerWsEndpoint } from "./transport/ws-endpoint.js";
import { Actions } from "./ws/actions.js";
import { Sessions } from "./ws/sessions.js";

export { loadGatewayConfig, describeGatewayConfig, gatewaySchema, type GatewayConfig } from "./config.js";
export { CloseCode } from "./errors.js";

export interface GatewayApp {
  readonly port: number;
  readonly opsPort: number;
  stop(): Promise<void>;
}

export async function startGatewayApp(config: GatewayConfig, deps: AppDeps = {}): Promise<GatewayApp> {
  const rt = createRuntime({ name: "gateway", podName: config.podName, logLevel: config.logLevel, failpoints: config.failpoints, log: deps.log });
  const { lifecycle, log } = rt;
  const metrics = createGatewayMetrics(rt.metrics);
  const version = versionId(config.serverVersion);
  return assembleApp(rt, async () => {
    const ops = await lifecycle.start(opsServerComponent(rt, config.opsHost, config.opsPort));
    const { bus } = await lifecycle.start(busComponent(rt, { servers: config.natsUrl, clientName: `${config.podName}/gateway` }));

    const rpc = { defaultDeadlineMs: config.rpcDeadlineMs };
    const accounts = createRpcClient(AccountsService, { address: config.accountsAddr, ...rpc });
    const posts = createRpcClient(PostsService, { address: config.postsAddr, ...rpc });
    const presence = createRpcClient(PresenceService, { address: config.presenceAddr, ...rpc });
    for (const [name, c] of [["accounts-client", accounts], ["posts-client", posts], ["presence-client", presence]] as const) {
      await lifecycle.start(clientComponent(name, c));
    }

    rt.readiness.set("session-keys", false);
    const auth = await lifecycle.start(createSessionAuth({ accounts, bus, log }));
    void auth.whenReady().then(() => rt.readiness.set("session-keys", true));

    let sessions: Sessions | undefined;
    let actions: Actions | undefined;
    const hub = new Hub({
      bus,
      posts,
      log,
      metrics,
      rpcDeadlineMs: config.rpcDeadlineMs,
      onOverflow: (conn) => sessions?.overflowed(conn),
      onStalled: (conn) => sessions?.stalledNow(conn),
    });
    await lifecycle.start({ name: "hub", start: async () => hub.start(), stop: async () => hub.stop() });

    const reporter = new PresenceReporter({
      presence,
      gatewayId: config.podName,
      intervalMs: config.presenceReportMs,
      log,
      snapshot: () => sessions?.openConnections ?? [],
    });
    sessions = new Sessions({
      hub,
      presence: reporter,
      log,
      metrics,
      limits: { replayEvents: config.replayEvents, queueLimit: config.queueLimit, maxBufferedBytes: config.maxBufferedBytes },
      authTimeoutMs: config.authTimeoutMs,
      resumeWindowMs: config.resumeWindowMs,
      stallTimeoutMs: 5_000,
      versionId: version,
      hostname: config.podName,
      onBound: (sock) => actions?.handleDeferred(sock),
    });
    const s = sessions;
    auth.onRevoked((sessionId) => s.revokeSession(sessionId));
    actions = new Actions({
      sessions: s,
      auth,
      hub,
      bus,
      presence,
      presenceReporter: reporter,
      log,
      metrics,
      serverVersion: config.serverVersion,
      rpcDeadlineMs: config.rpcDeadlineMs,
    });

    const app = uws.App();
    let accepting = true;
    registerWsEndpoint(app, {
      sessions: s,
      actions,
      auth,
      origin: { siteUrl: config.siteUrl, allowCorsFrom: config.allowCorsFrom },
      log,
      maxInboundBytes: config.maxInboundBytes,
      idleTimeoutS: config.idleTimeoutS,
      maxBufferedBytes: config.maxBufferedBytes,
      accepting: () => accepting,
    });
    const staticClientConfig = clientConfig(config);
    const restDeps: RestDeps = {
      accounts,
      posts,
      presence,
      auth: createRestAuth({ auth, strictCsrf: config.strictCsrf }),
      deadlineMs: config.rpcDeadlineMs,
      secureCookies: config.secureCookies,
      healthy: () => rt.readiness.snapshot().ready,
      clientConfig: () => staticClientConfig,
    };
    registerRoutes(
      app,
      [...usersRoutes(restDeps), ...statusRoutes(restDeps), ...teamsRoutes(restDeps), ...channelsRoutes(restDeps), ...postsRoutes(restDeps), ...systemRoutes(restDeps)],
      { log, metrics, maxRequestBytes: config.maxRequestBytes, versionId: version },
    );

    await lifecycle.start(reporter);
    await lifecycle.start({ name: "sessions", start: async () => s.start(), stop: async () => s.stop() });
    const listener = await lifecycle.start(
      listenComponent(app, config.listenHost, config.listenPort, () => {
        accepting = false;
        s.closeAll(CloseCode.ServerShuttingDown);
      }),
    );
    return {
      app: {
        port: listener.port,
        opsPort: ops.port,
      },
      ready: { port: listener.port, ops_port: ops.port },
    };
  }, deps.signal);
}

/** The listen socket; stopping it refuses new connections and closes the open sockets. */
function listenComponent(app: Uws.TemplatedApp, host: string, port: number, onStop: () => void): Component & { readonly port: number } {
  let socket: Uws.us_listen_socket | undefined;
  let bound = 0;
  return {
    name: "listener",
    get port() {
      return bound;
    },
    start: () =>
      new Promise<void>((resolve, reject) => {
        app.listen(host, port, (ls) => {
          if (!ls) {
            reject(new Error(`cannot listen on ${host}:${port}`));
            return;
          }
          socket = ls;
          bound = uws.us_socket_local_port(ls);
          resolve();
        });
      }),
    async stop() {
      if (socket) uws.us_listen_socket_close(socket);
      socket = undefined;
      onStop();
    },
  };
}
