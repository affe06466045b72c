/**
 * What the posts integration tests share: a real nats-server, PostgreSQL (or PGlite), the
 * accounts service as its own process, users with session tokens, posts clients, and reads
 * of the SB_EVT stream.
 */
import { connectBus, decodeEvent, isStreamNotFound, readStreamRange, streams, subjects, type Bus } from "@switchboard/bus";
import { openDatabase, type Db } from "@switchboard/db";
import { silentLogger } from "@switchboard/log";
import { AppError } from "@switchboard/model";
import { AccountsService } from "@switchboard/proto/accounts";
import type { Event } from "@switchboard/proto/events";
import { PostsService } from "@switchboard/proto/posts";
import { createRpcClient, type AccountsClient, type PostsClient } from "@switchboard/rpc";
import {
  createTestDatabase,
  sharedNatsServer,
  spawnDeployable,
  startNatsServer,
  testClientTls,
  deployableTestEnv,
  type ChildHandle,
  type NatsServer,
  type TestDatabase,
} from "@switchboard/testkit";
import { loadPostsConfig, startPostsApp, type PostsApp } from "../src/app.js";

export interface TestUser {
  readonly id: string;
  readonly username: string;
  readonly token: string;
}

/** The outcome of a call: "ok" or the AppError code (and id), for compact assertions. */
export async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e: unknown) {
    return e instanceof AppError ? e.code : `other: ${String(e)}`;
  }
}

export async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e: unknown) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error("expected the call to fail");
}

/** A metric's value (the first series of that name) from a process's ops port; 0 when absent. */
export async function metric(ops: unknown, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${String(ops)}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.split(" ").pop()) : 0;
}

export interface Backing {
  readonly nats: NatsServer;
  /** undefined on PGlite. */
  readonly pg: TestDatabase | undefined;
  readonly accounts: ChildHandle;
  readonly accountsAddr: string;
  readonly accountsClient: AccountsClient;
  readonly bus: Bus;
  stop(): Promise<void>;
}

/** nats-server (the run's shared one unless `ownNats`: a test that kills it), a database and the accounts process. */
export async function startBacking(o: { driver?: "postgres" | "pglite"; ownNats?: boolean } = {}): Promise<Backing> {
  const nats = o.ownNats ? await startNatsServer() : await sharedNatsServer();
  const pg = o.driver === "pglite" ? undefined : await createTestDatabase("sb_posts");
  const accounts = await spawnDeployable("accounts", {
    ...nats.env("accounts"),
    DATABASE_URL: pg?.url ?? "",
    SB_ACCOUNTS_PGLITE_DIR: "memory://",
    SB_ACCOUNTS_GRPC_PORT: "0",
    SB_ACCOUNTS_OPS_PORT: "0",
    SB_ACCOUNTS_DB_POOL_SIZE: "3",
    SB_POD_NAME: "accounts-test",
  }).catch(async (e: unknown) => {
    await pg?.drop();
    throw e;
  });
  const accountsAddr = `127.0.0.1:${String(accounts.ready.grpc_port)}`;
  const accountsClient = createRpcClient(AccountsService, {
    address: accountsAddr,
    defaultDeadlineMs: 10_000,
    tls: testClientTls("accounts"),
  }) as AccountsClient;
  const bus = await connectBus({ ...nats.as("posts"), name: "posts-test" });
  return {
    nats,
    pg,
    accounts,
    accountsAddr,
    accountsClient,
    bus,
    async stop() {
      accountsClient.close();
      await bus.close();
      await accounts.stop();
      await pg?.drop();
      await nats.stop();
    },
  };
}

let userSeq = 0;

/** Signs a user up and logs them in (the first user of an accounts database is a system admin). */
export async function signup(b: Backing, name?: string): Promise<TestUser> {
  const username = name ?? `user${Date.now().toString(36)}${userSeq++}`;
  await b.accountsClient.createUser({ username, email: `${username}@example.com`, password: "password-1" });
  const r = await b.accountsClient.login({ loginId: username, password: "password-1" });
  return { id: r.user!.id, username, token: r.token };
}

/** The env a posts process (or in-process app) needs against this backing. */
export function postsEnv(b: Backing, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...b.nats.env("posts"),
    DATABASE_URL: b.pg?.url ?? "",
    SB_POSTS_PGLITE_DIR: "memory://",
    SB_POSTS_GRPC_PORT: "0",
    SB_POSTS_OPS_PORT: "0",
    SB_POSTS_ACCOUNTS_ADDR: b.accountsAddr,
    SB_POSTS_DB_POOL_SIZE: "8",
    SB_POSTS_EVENT_STORAGE: "file",
    SB_POD_NAME: "posts-test",
    ...deployableTestEnv("posts"),
    ...extra,
  };
}

export async function startPostsInProcess(b: Backing, extra: Record<string, string> = {}): Promise<PostsApp> {
  const { config } = loadPostsConfig(postsEnv(b, extra));
  return startPostsApp(config, { log: silentLogger });
}

/** A client of posts, calling as the gateway unless `as` names another component. */
export function postsClient(port: unknown, o: { maxMessageBytes?: number; as?: Parameters<typeof testClientTls>[1] } = {}): PostsClient {
  const { as, ...rest } = o;
  return createRpcClient(PostsService, { address: `127.0.0.1:${String(port)}`, defaultDeadlineMs: 15_000, tls: testClientTls("posts", as), ...rest });
}

/** A direct connection to the test database (PostgreSQL only), for checking what was written. */
export function openTestDb(b: Backing): Promise<Db> {
  if (!b.pg) throw new Error("openTestDb needs PostgreSQL");
  return openDatabase({ url: b.pg.url, schema: "posts", poolSize: 3 });
}

export interface StoredEvent {
  readonly subject: string;
  readonly event: Event;
  readonly data: Record<string, unknown>;
}

/** Every event stored in SB_EVT (optionally for some subjects), in stream order. */
export async function storedEvents(bus: Bus, filter?: readonly string[]): Promise<StoredEvent[]> {
  const msgs = await readStreamRange(bus, { stream: streams.events.name, start: "all", ...(filter ? { filterSubjects: filter } : {}) }).catch((e: unknown) => {
    if (isStreamNotFound(e)) return [];
    throw e;
  });
  return msgs.map((m) => {
    const event = decodeEvent(m.data);
    return { subject: m.subject, event, data: JSON.parse(Buffer.from(event.data).toString()) as Record<string, unknown> };
  });
}

/** `posted` events of one post. */
export async function postedEventsFor(bus: Bus, channelId: string, postId: string): Promise<StoredEvent[]> {
  const all = await storedEvents(bus, [subjects.channel(channelId)]);
  return all.filter((e) => e.event.event === "posted" && (JSON.parse(String(e.data.post)) as { id: string }).id === postId);
}

/** A team with a public channel, its creator (team admin) and the channel id. */
export async function teamWithChannel(client: PostsClient, owner: TestUser, name: string) {
  const team = (await client.createTeam({ name, displayName: name, type: "O", allowOpenInvite: true }, { token: owner.token })).team!;
  const channel = (await client.createChannel({ teamId: team.id, name: "general-" + name, displayName: "General", type: "O" }, { token: owner.token }))
    .channel!;
  return { team, channel };
}
