/**
 * The accounts service's composition root: createApp wires the runtime parts and the domain;
 * importing this module has no side effects.
 */
import { AccountsService as AccountsServiceDesc } from "@switchboard/proto/accounts";
import { controlStreamSpec, ensureStream } from "@switchboard/bus";
import { createOutboxRelay } from "@switchboard/outbox";
import { assembleApp, busComponent, createRuntime, databaseComponent, opsServerComponent, rpcServerComponent, type AppDeps } from "@switchboard/runtime";
import { createAccountsService } from "./accounts-service.js";
import { createLocalAuth } from "./auth.js";
import type { AccountsConfig } from "./config.js";
import { accountsHandlers } from "./grpc-handlers.js";
import { loadKeyWrapper } from "./keys/kek-source.js";
import { createKeyManager } from "./keys/key-manager.js";
import { createLoginLimiter } from "./login/login-limiter.js";
import { createAccountsMetrics } from "./metrics.js";
import { migrations, SCHEMA } from "./migrations.js";
import { createPreferences } from "./preferences/preferences-service.js";

export { loadAccountsConfig, describeAccountsConfig, accountsSchema, type AccountsConfig } from "./config.js";

export interface AccountsApp {
  readonly grpcPort: number;
  /** Which gRPC server implementation serves (SB_RPC_SERVER). */
  readonly grpcServer: string;
  readonly opsPort: number;
  stop(): Promise<void>;
}

export async function startAccountsApp(config: AccountsConfig, deps: AppDeps = {}): Promise<AccountsApp> {
  const rt = createRuntime({ name: "accounts", podName: config.podName, logLevel: config.logLevel, failpoints: config.failpoints, log: deps.log });
  const { lifecycle } = rt;
  return assembleApp(
    rt,
    async () => {
      // The KEK first: a missing or unreadable one stops the start before anything else.
      const wrapper = await loadKeyWrapper(config);
      const ops = await lifecycle.start(opsServerComponent(rt, config.opsHost, config.opsPort));
      const { db } = await lifecycle.start(
        databaseComponent(rt, { url: config.databaseUrl, pgliteDir: config.pgliteDir, schema: SCHEMA, poolSize: config.dbPoolSize, migrations }),
      );
      const { bus } = await lifecycle.start(busComponent(rt, { config, clientName: `${config.podName}/accounts` }));
      await ensureStream(bus, controlStreamSpec({ maxAgeMs: config.controlRetentionMs, replicas: config.controlReplicas }));
      const relay = await lifecycle.start(createOutboxRelay({ db, bus, schema: SCHEMA, log: rt.log, metrics: rt.metrics, failpoints: rt.failpoints }));

      const keys = createKeyManager({
        db,
        wrapper,
        rotationMs: config.keyRotationMs,
        maxTokenLifetimeMs: config.sessionLengthMs,
        publishAheadMs: config.keyPublishAheadMs,
      });
      const prepared = await keys.prepare();
      rt.log.info({ ...prepared, kek: wrapper.activeKekId }, "signing keys ready");
      await keys.current();
      const metrics = createAccountsMetrics(rt.metrics);
      const audit = rt.log.child({ part: "audit" });
      const loginLimiter = createLoginLimiter({
        db,
        limits: { perLogin: config.loginMaxFailuresPerLogin, perIp: config.loginMaxFailuresPerIp, windowMs: config.loginWindowMs },
        onLimited: (key) => metrics.loginLimited(key),
      });
      const svc = createAccountsService({
        db,
        keys,
        sessionLengthMs: config.sessionLengthMs,
        openSignup: config.openSignup,
        onCommit: () => relay.poke(),
        loginLimiter,
        onLoginRefused: (why, loginId, clientIp) => {
          metrics.loginRefused(why);
          audit.warn({ audit: "login_refused", reason: why, login_id: loginId, client_ip: clientIp }, "login refused");
        },
      });
      const prefs = createPreferences({ db, onCommit: () => relay.poke() });
      const grpc = await lifecycle.start(
        rpcServerComponent(rt, config, (server) => server.add(AccountsServiceDesc, accountsHandlers(svc, prefs, createLocalAuth({ db, keys })))),
      );
      return {
        app: {
          grpcPort: grpc.port,
          grpcServer: grpc.server.transport,
          opsPort: ops.port,
        },
        ready: { grpc_port: grpc.port, grpc_health_port: grpc.healthPort, grpc_server: grpc.server.transport, ops_port: ops.port },
      };
    },
    deps.signal,
  );
}
