/**
 * A whole Switchboard on loopback for acceptance tests: nats-server (the run's shared one
 * unless `ownNats`), a fresh PostgreSQL database, and each deployable as its own process
 * (built dist/), wired together. On the shared server each stack keeps its presence in a
 * KV bucket of its own; everything else it names (users, channels) is its own already.
 */
import { randomBytes } from "node:crypto";
import { freePort } from "./ports.js";
import { createTestDatabase, type TestDatabase } from "./postgres.js";
import { startNatsServer, type NatsServer } from "./nats-server.js";
import { sharedNatsServer } from "./shared-nats.js";
import { spawnDeployable } from "./deployables.js";
import { withTestKek } from "./test-kek.js";
import type { ChildHandle } from "./process.js";

export interface StackOptions {
  /** A nats-server of the stack's own (a test that kills or reconfigures it). */
  readonly ownNats?: boolean;
  /** Extra nats-server arguments (a monitoring port with -m, say); implies a server of the stack's own. */
  readonly natsArgs?: readonly string[];
  readonly gateways?: number;
  /** Extra environment for every process, or per deployable. */
  readonly env?: Readonly<Record<string, string>>;
  readonly gatewayEnv?: Readonly<Record<string, string>>;
  readonly postsEnv?: Readonly<Record<string, string>>;
  readonly presenceEnv?: Readonly<Record<string, string>>;
  /** How the deployables authenticate on gRPC (SB_RPC_AUTH): mtls (the default) or token, with the run's keys (testkit pki.ts). */
  readonly rpcAuth?: "mtls" | "token";
  /** Node flags for each gateway process (a bench's CPU profile, say). */
  readonly gatewayNodeArgs?: readonly string[];
}

export interface Stack {
  readonly nats: NatsServer;
  readonly db: TestDatabase;
  readonly accounts: ChildHandle;
  readonly posts: ChildHandle;
  readonly presence: ChildHandle;
  /** Presence's KV bucket (SB_PRESENCE_KV_BUCKET), a name of the stack's own. */
  readonly presenceBucket: string;
  readonly gateways: ChildHandle[];
  /** http://127.0.0.1:<port> of each gateway. */
  readonly gatewayUrls: string[];
  readonly addrs: { accounts: string; posts: string; presence: string };
  /** The KEK accounts runs with (SB_ACCOUNTS_KEK form; seedUsers' default unless env set another). */
  readonly accountsKek: string;
  stop(): Promise<void>;
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const bucket = `presence_stack_${randomBytes(6).toString("hex")}`;
  // A server of its own knows the stack's one presence bucket: presence may use no other.
  const nats =
    o.natsArgs || o.ownNats ? await startNatsServer({ presenceBuckets: [bucket], ...(o.natsArgs ? { args: o.natsArgs } : {}) }) : await sharedNatsServer();
  const db = await createTestDatabase();
  const children: ChildHandle[] = [];
  try {
    const base = { DATABASE_URL: db.url, SB_POD_NAME: "test", ...(o.rpcAuth === "token" ? { SB_RPC_AUTH: "token" } : {}), ...o.env };
    const [accPort, postsPort, presPort] = [await freePort(), await freePort(), await freePort()];
    const addrs = { accounts: `127.0.0.1:${accPort}`, posts: `127.0.0.1:${postsPort}`, presence: `127.0.0.1:${presPort}` };
    const accountsEnv = withTestKek({ ...nats.env("accounts"), ...base, SB_ACCOUNTS_GRPC_PORT: String(accPort), SB_ACCOUNTS_OPS_PORT: "0" });
    const accounts = await spawnDeployable("accounts", accountsEnv);
    children.push(accounts);
    const started = await Promise.allSettled([
      spawnDeployable("posts", {
        ...nats.env("posts"),
        ...base,
        SB_POSTS_GRPC_PORT: String(postsPort),
        SB_POSTS_OPS_PORT: "0",
        SB_POSTS_ACCOUNTS_ADDR: addrs.accounts,
        SB_POSTS_PRESENCE_ADDR: addrs.presence,
        ...o.postsEnv,
      }),
      spawnDeployable("presence", {
        ...nats.env("presence"),
        ...base,
        SB_PRESENCE_GRPC_PORT: String(presPort),
        SB_PRESENCE_OPS_PORT: "0",
        SB_PRESENCE_ACCOUNTS_ADDR: addrs.accounts,
        SB_PRESENCE_POSTS_ADDR: addrs.posts,
        SB_PRESENCE_KV_BUCKET: bucket,
        ...o.presenceEnv,
      }),
    ]);
    for (const r of started) if (r.status === "fulfilled") children.push(r.value);
    for (const r of started) if (r.status === "rejected") throw r.reason;
    const [posts, presence] = started.map((r) => (r as PromiseFulfilledResult<ChildHandle>).value) as [ChildHandle, ChildHandle];
    const gateways: ChildHandle[] = [];
    for (let i = 0; i < (o.gateways ?? 1); i++) {
      const g = await spawnDeployable(
        "gateway",
        {
          ...nats.env("gateway"),
          ...base,
          SB_POD_NAME: `gateway-${i}`,
          SB_GATEWAY_LISTEN_PORT: "0",
          SB_GATEWAY_OPS_PORT: "0",
          SB_GATEWAY_ACCOUNTS_ADDR: addrs.accounts,
          SB_GATEWAY_POSTS_ADDR: addrs.posts,
          SB_GATEWAY_PRESENCE_ADDR: addrs.presence,
          ...o.gatewayEnv,
        },
        o.gatewayNodeArgs,
      );
      children.push(g);
      gateways.push(g);
    }
    return {
      nats,
      db,
      accounts,
      posts,
      presence,
      presenceBucket: bucket,
      gateways,
      gatewayUrls: gateways.map((g) => `http://127.0.0.1:${String(g.ready.port)}`),
      addrs,
      accountsKek: accountsEnv.SB_ACCOUNTS_KEK ?? "",
      async stop() {
        await Promise.all(children.reverse().map((c) => c.stop(10_000)));
        await db.drop();
        await nats.stop();
      },
    };
  } catch (e: unknown) {
    await Promise.all(children.map((c) => c.stop(2_000)));
    await db.drop();
    await nats.stop();
    throw e;
  }
}
