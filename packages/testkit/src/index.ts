export { freePort, freePorts } from "./ports.js";
export { waitFor, sleep, type WaitOptions } from "./wait.js";
export { startNatsServer, type NatsServer, type NatsServerOptions } from "./nats-server.js";
export { sharedNatsServer } from "./shared-nats.js";
export type { NatsAccess } from "./nats-access.js";
export { createTestDatabase, execSql, rowCounts, type TestDatabase } from "./postgres.js";
export { spawnProcess, rpcServerEnv, type ChildHandle, type SpawnOptions } from "./process.js";
export { testKek, withTestKek } from "./test-kek.js";
export { spawnDeployable, deployableEntry, deployableTestEnv, repoRoot, type DeployableName } from "./deployables.js";
export { testPkiDir, testIdentity, testClientTls, rpcTlsEnv } from "./pki.js";
export { buildAtCommit, resolveCommit, upgradeBaseCommit, type CommitBuild } from "./build-at-commit.js";
export { startStack, type Stack, type StackOptions } from "./stack.js";
export { Client4, WebSocketClient, newClient4, newWebSocketClient, type WsClientOptions } from "./mattermost-client.js";
export { seedUsers, SEED_PASSWORD, type SeedUsersOptions, type SeededUser } from "./seed/seed-users.js";
export { seedPopulation, type PopulationOptions, type Population, type SeededChannel } from "./seed/seed-population.js";
export { startFaultProxy, type FaultProxy, type FaultProxyOptions, type Fault } from "./fault-proxy.js";
export { installLedgerTap, type LedgerTap, type Truth, type TruthEvent } from "./ledger/truth.js";
export {
  startRecorder,
  CLIENT_SEQ_MISMATCH,
  type Recorder,
  type RecorderOptions,
  type Recording,
  type ReceivedEvent,
  type HelloRecord,
  type CloseRecord,
} from "./ledger/recorder.js";
export { checkLedger, checkClient, type LedgerReport, type ClientReport, type CheckOptions } from "./ledger/checker.js";
export { eventIdentity, CHECKED_EVENTS, type EventIdentity } from "./ledger/event-identity.js";
export { startWorkload, type Workload, type WorkloadOptions, type PostStats } from "./ledger/workload.js";
export {
  startCluster,
  type Cluster,
  type ClusterOptions,
  type TopologyChanges,
  type ClusterGateway,
  type GatewayPool,
  type GatewayStart,
  type ServiceReplica,
} from "./cluster/cluster.js";
export { topology, haproxyMaxconn, type Topology, type ClusterSize } from "./cluster/topology.js";
export { startNatsCluster, type NatsCluster, type NatsClusterOptions } from "./cluster/nats-cluster.js";
export { startHaproxy, haproxyConfig, type Haproxy, type SlotState } from "./cluster/haproxy.js";
export { readGolden, compareToGolden, type Golden } from "./golden.js";
export { dbFingerprint, type DbFingerprint } from "./db-fingerprint.js";
export { startPostgresServer, type PostgresServer } from "./cluster/postgres-server.js";
export { testTokenKey } from "./pki.js";
export { asksForClientCertificate } from "./tls-probe.js";
