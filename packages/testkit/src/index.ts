export { freePort } from "./ports.js";
export { waitFor, sleep, type WaitOptions } from "./wait.js";
export { startNatsServer, type NatsServer, type NatsServerOptions } from "./nats-server.js";
export { sharedNatsServer } from "./shared-nats.js";
export { createTestDatabase, type TestDatabase } from "./postgres.js";
export { spawnProcess, rpcServerEnv, type ChildHandle, type SpawnOptions } from "./process.js";
export { spawnDeployable, deployableEntry, repoRoot, type DeployableName } from "./deployables.js";
export { startStack, type Stack, type StackOptions } from "./stack.js";
export { Client4, WebSocketClient, newClient4, newWebSocketClient, type WsClientOptions } from "./mattermost-client.js";
