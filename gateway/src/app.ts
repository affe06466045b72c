/**
 * The gateway's composition root: it lists the parts and wires them, each built in its own
 * module from what it is given: runtime (ops server, NATS) → service clients → session
 * verification → fan-out hub → connection table → presence reporter → resume holder →
 * sessions (with the resume claims) → client requests → transport (WebSocket endpoint and
 * REST routes on one uWS app) → listener → rebalancer (load reports, shedding after a scale-out). Components start in that order and stop in
 * reverse: the listener's stop is the drain (pre-stop, close, sockets in batches), the
 * sessions' stop waits for the drained connections' handover, and the holder answers claims
 * until then. Importing this module has no side effects.
 */
import { busComponent, assembleApp, createRuntime, opsServerComponent, type AppDeps } from "@switchboard/runtime";
import { clientConfig, versionId } from "./client-config.js";
import type { GatewayConfig } from "./config.js";
import { ConnectionTable } from "./connections/connection-table.js";
import { clientIpPolicy } from "./http/client-ip.js";
import { createGatewayMetrics } from "./metrics.js";
import { PresenceReporter } from "./presence/presence-reporter.js";
import { createRestAuth } from "./rest/rest-auth.js";
import { restRoutes } from "./rest/rest-routes.js";
import { natsResumeClaims } from "./resume/resume-claims.js";
import { Rebalancer } from "./resume/rebalancer.js";
import { ResumeHolder } from "./resume/resume-holder.js";
import { Canary } from "./routing/canary.js";
import { Hub } from "./routing/hub.js";
import { startServiceClients } from "./service-clients.js";
import { startSessionAuth } from "./session-auth.js";
import { registerRoutes } from "./transport/http-server.js";
import { listenComponent } from "./transport/listener.js";
import { uws } from "./transport/uws.js";
import { UpgradeAdmission } from "./transport/upgrade-admission.js";
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
  const ipPolicy = clientIpPolicy({ headers: config.trustedProxyIpHeader, trustedProxies: config.trustedProxies });
  return assembleApp(
    rt,
    async () => {
      const ops = await lifecycle.start(opsServerComponent(rt, config.opsHost, config.opsPort));
      const { bus } = await lifecycle.start(busComponent(rt, { config, clientName: `${config.podName}/gateway` }));
      const clients = await startServiceClients(lifecycle, config);
      const auth = await startSessionAuth(rt, clients.accounts, bus);

      const hub = await lifecycle.start(
        new Hub({
          bus,
          posts: clients.posts,
          log,
          metrics,
          rpcDeadlineMs: config.rpcDeadlineMs,
          repairTimeoutMs: config.repairTimeoutMs,
          verifyHeadsAfterMs: config.verifyHeadsAfterMs,
          recoveryMarginMs: config.recoveryMarginMs,
          recoveryTimeoutMs: config.recoveryTimeoutMs,
          failpoints: config.failpoints,
        }),
      );
      rt.readiness.set("nats-canary", true);
      await lifecycle.start(
        new Canary({
          bus,
          log,
          intervalMs: config.canaryIntervalMs,
          missLimit: config.canaryMissLimit,
          setReady: (ok) => rt.readiness.set("nats-canary", ok),
          onMiss: () => metrics.canaryMiss(),
          onSilent: (since) => hub.outageFrom(since),
          resubscribe: () => hub.resubscribe(),
          onHeard: () => hub.recoverOutage(),
        }),
      );
      const connections = new ConnectionTable();
      const reporter = new PresenceReporter({
        presence: clients.presence,
        gatewayId: config.podName,
        intervalMs: config.presenceReportMs,
        log,
        snapshot: () => connections.open(),
        onLateRefusal: (id, reason) => holderRef.sessions?.refusedLate(id, reason),
      });
      const holderRef: { sessions?: Sessions } = {};
      const resumeHolder = new ResumeHolder({
        bus,
        log,
        podName: config.podName,
        holder: { handOver: (id, user, seq) => holderRef.sessions?.handOver(id, user, seq) },
        onAnswer: (result) => metrics.resumeHandover(result),
      });
      const sessions = new Sessions({
        fanout: hub,
        claims: natsResumeClaims({
          bus,
          log,
          timeoutMs: config.resumeClaimTimeoutMs,
          podName: config.podName,
          maxFrames: config.replayEvents + config.queueLimit,
        }),
        handoverMs: config.resumeHandoverMs,
        connections,
        presence: reporter,
        log,
        metrics,
        limits: { replayEvents: config.replayEvents, queueLimit: config.queueLimit, maxBufferedBytes: config.maxBufferedBytes },
        authTimeoutMs: config.authTimeoutMs,
        resumeWindowMs: config.resumeWindowMs,
        stallTimeoutMs: 5_000,
        versionId: version,
        hostname: config.podName,
      });
      holderRef.sessions = sessions;
      hub.reportTroublesTo(sessions);
      auth.onRevoked((sessionId) => sessions.revokeSession(sessionId));
      const actions = new Actions({
        sessions,
        auth,
        fanout: hub,
        bus,
        presence: clients.presence,
        presenceReporter: reporter,
        log,
        metrics,
        serverVersion: config.serverVersion,
        rpcDeadlineMs: config.rpcDeadlineMs,
        commandRate: { perSec: config.wsCommandsPerSec, burst: config.wsCommandBurst },
      });

      const app = uws.App();
      const listener = listenComponent(app, {
        host: config.listenHost,
        port: config.listenPort,
        log,
        preStopDelayMs: config.preStopDelayMs,
        onStop: () => sessions.drain(config.drainSpreadMs),
      });
      registerWsEndpoint(app, {
        sessions,
        actions,
        auth,
        origin: { siteUrl: config.siteUrl, allowCorsFrom: config.allowCorsFrom },
        log,
        maxInboundBytes: config.maxInboundBytes,
        idleTimeoutS: config.idleTimeoutS,
        maxBufferedBytes: config.maxBufferedBytes,
        accepting: () => listener.accepting,
        clientIp: ipPolicy,
        admission: new UpgradeAdmission({
          maxInProgress: config.maxUpgradesInProgress,
          ratePerSec: config.upgradesPerSec,
          burst: config.upgradeBurst,
        }),
        metrics,
      });
      const staticClientConfig = clientConfig(config);
      const rest = restRoutes({
        ...clients,
        auth: createRestAuth({ auth, strictCsrf: config.strictCsrf }),
        deadlineMs: config.rpcDeadlineMs,
        secureCookies: config.secureCookies,
        healthy: () => rt.readiness.snapshot().ready,
        clientConfig: () => staticClientConfig,
      });
      registerRoutes(app, rest, { log, metrics, maxRequestBytes: config.maxRequestBytes, versionId: version, clientIp: ipPolicy });

      await lifecycle.start(reporter);
      // Stopped after sessions: claims for drained connections are answered until the handover ends.
      await lifecycle.start(resumeHolder);
      await lifecycle.start(sessions);
      await lifecycle.start(listener);
      // Started last, stopped first: on SIGTERM the others stop counting this gateway at once.
      await lifecycle.start(
        new Rebalancer({
          bus,
          log,
          reportMs: config.rebalanceReportMs,
          enabled: config.rebalanceEnabled,
          settings: {
            thresholdPercent: config.rebalanceThresholdPercent,
            fractionPercent: config.rebalanceFractionPercent,
            sustainMs: config.rebalanceSustainMs,
            cooldownMs: config.rebalanceCooldownMs,
          },
          spreadMs: config.rebalanceSpreadMs,
          sockets: () => connections.countAttached(),
          accepting: () => listener.accepting && rt.readiness.snapshot().ready,
          shed: (count, spreadMs) => sessions.shed(count, spreadMs),
          onShed: (closed) => metrics.rebalanceClosed(closed),
        }),
      );
      return {
        app: {
          port: listener.port,
          opsPort: ops.port,
        },
        ready: { port: listener.port, ops_port: ops.port },
      };
    },
    deps.signal,
  );
}
