export { freePort, freePorts } from "./ports.js";
export { waitFor, sleep, type WaitOptions } from "./wait.js";
export { startNatsServer, type NatsServer, type NatsServerOptions } from "./nats-server.js";
export { sharedNatsServer } from "./shared-nats.js";
export { createTestDatabase, type TestDatabase } from "./postgres.js";
export { spawnProcess, rpcServerEnv, type ChildHandle, type SpawnOptions } from "./process.js";
export { spawnDeployable, deployableEntry, repoRoot, type DeployableName } from "./deployables.js";
export { startStack, type Stack, type StackOptions } from "./stack.js";
export { Client4, WebSocketClient, newClient4, newWebSocketClient, type WsClientOptions } from "./mattermost-client.js";
export {
  startCluster,
  type Cluster,
  type ClusterOptions,
  type TopologyChanges,
  type ClusterGateway,
  type GatewayPool,
  type ServiceReplica,
} from "./cluster/cluster.js";
export { topology, haproxyMaxconn, type Topology, type ClusterSize } from "./cluster/topology.js";
export { startNatsCluster, type NatsCluster } from "./cluster/nats-cluster.js";
export { startHaproxy, haproxyConfig, type Haproxy, type SlotState } from "./cluster/haproxy.js";
export { startPostgresServer, type PostgresServer } from "./cluster/postgres-server.js";
