/**
 * Integration harness: a real nats-server with JetStream, accounts as a process (for users and
 * tokens), presence replicas as processes, NATS observers of status_change, and simulated
 * gateways speaking the lease protocol.
 */
import { connectBus, decodeEvent, openKv, parseEventSubject, subjects, type Bus, type BusSubscription, type KvStore } from "@switchboard/bus";
import { AppError } from "@switchboard/model";
import { AccountsService } from "@switchboard/proto/accounts";
import { PresenceService } from "@switchboard/proto/presence";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type ConnectionEventSchema } from "@switchboard/proto/presence";
import { createRpcClient, DEFAULT_RPC_SERVER_TRANSPORT, type AccountsClient, type PresenceClient } from "@switchboard/rpc";
import {
  sharedNatsServer,
  spawnDeployable,
  waitFor,
  testClientTls,
  deployableTestEnv,
  type ChildHandle,
  type NatsAccess,
  type NatsServer,
} from "@switchboard/testkit";
import { decodeRecord, type StatusRecord } from "../src/presence/status-record.js";
import { userKey } from "../src/store/presence-kv.js";

/** Short timings so the suite stays fast; every test derives its waits from these. */
export const TIMING = { leaseTtlMs: 1_500, graceMs: 300, awayAfterMs: 1_000, sweepMs: 50 } as const;

export function presenceEnv(nats: NatsAccess, accountsAddr: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...nats.env("presence"),
    SB_PRESENCE_GRPC_PORT: "0",
    SB_PRESENCE_OPS_PORT: "0",
    SB_PRESENCE_ACCOUNTS_ADDR: accountsAddr,
    SB_PRESENCE_LEASE_TTL_MS: String(TIMING.leaseTtlMs),
    SB_PRESENCE_OFFLINE_GRACE_MS: String(TIMING.graceMs),
    SB_PRESENCE_AWAY_AFTER_MS: String(TIMING.awayAfterMs),
    SB_PRESENCE_ACTIVITY_WRITE_INTERVAL_MS: "0",
    SB_PRESENCE_SWEEP_INTERVAL_MS: String(TIMING.sweepMs),
    SB_PRESENCE_REPUBLISH_AFTER_MS: "1000",
    SB_PRESENCE_WATCH_PROBE_INTERVAL_MS: "500",
    SB_PRESENCE_LOG_LEVEL: "info",
    ...deployableTestEnv("presence"),
    ...extra,
  };
}

/** A client of a presence replica, calling as the gateway. */
function presenceClient(handle: ChildHandle): PresenceClient {
  return createRpcClient(PresenceService, {
    address: `127.0.0.1:${handle.ready.grpc_port}`,
    defaultDeadlineMs: 10_000,
    tls: testClientTls("presence"),
  });
}

export interface Replica {
  readonly handle: ChildHandle;
  readonly client: PresenceClient;
  readonly opsPort: number;
}

export interface User {
  readonly id: string;
  readonly token: string;
}

export interface StatusEvent {
  readonly recipient: string;
  readonly userId: string;
  readonly status: string;
  readonly eventId: string;
  readonly broadcastUserId: string;
  /** Date.now() when the test saw it. */
  readonly receivedAt: number;
}

export class Cluster {
  readonly replicas: Replica[] = [];
  private readonly clients: { close(): void }[] = [];
  readonly events: StatusEvent[] = [];
  private sub: BusSubscription | undefined;
  private constructor(
    readonly nats: NatsServer,
    readonly accounts: ChildHandle,
    readonly accountsClient: AccountsClient,
    readonly bus: Bus,
    readonly bucket: string,
    private readonly baseEnv: Record<string, string>,
  ) {}

  static async start(o: { replicas: number; bucket: string; env?: Record<string, string> }): Promise<Cluster> {
    // The run's shared nats-server: the cluster's state is in its own bucket (o.bucket), its users are its own.
    const nats = await sharedNatsServer();
    const accounts = await spawnDeployable("accounts", {
      ...nats.env("accounts"),
      DATABASE_URL: "",
      SB_ACCOUNTS_PGLITE_DIR: "memory://",
      SB_ACCOUNTS_GRPC_PORT: "0",
      SB_ACCOUNTS_OPS_PORT: "0",
    });
    const accountsClient = createRpcClient(AccountsService, {
      address: `127.0.0.1:${accounts.ready.grpc_port}`,
      defaultDeadlineMs: 10_000,
      tls: testClientTls("accounts"),
    }) as AccountsClient;
    // The test user observes every status change; it publishes nothing.
    const bus = await connectBus({ ...nats.as("test"), name: "presence-test" });
    const c = new Cluster(nats, accounts, accountsClient, bus, o.bucket, o.env ?? {});
    c.sub = bus.subscribe(subjects.allStatus, (m) => {
      const scope = parseEventSubject(m.subject);
      const ev = decodeEvent(m.data);
      if (ev.event !== "status_change" || scope?.scope !== "user") return;
      const d = JSON.parse(Buffer.from(ev.data).toString()) as { status: string; user_id: string };
      c.events.push({
        recipient: scope.id,
        userId: d.user_id,
        status: d.status,
        eventId: ev.id,
        broadcastUserId: ev.broadcast?.userId ?? "",
        receivedAt: Date.now(),
      });
    });
    await bus.flush();
    for (let i = 0; i < o.replicas; i++) await c.addReplica();
    return c;
  }

  get accountsAddr(): string {
    return `127.0.0.1:${this.accounts.ready.grpc_port}`;
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return presenceEnv(this.nats, this.accountsAddr, { SB_PRESENCE_KV_BUCKET: this.bucket, ...this.baseEnv, ...extra });
  }

  async addReplica(extra?: Record<string, string>): Promise<Replica> {
    const handle = await spawnDeployable("presence", this.env({ SB_POD_NAME: `presence-${this.replicas.length}`, ...extra }));
    // The test run's gRPC server implementation (SB_RPC_SERVER) reached the replica.
    if (handle.ready.grpc_server !== (process.env.SB_RPC_SERVER ?? DEFAULT_RPC_SERVER_TRANSPORT))
      throw new Error(`presence serves on ${String(handle.ready.grpc_server)}`);
    const client = presenceClient(handle);
    this.clients.push(client);
    const r = { handle, client, opsPort: Number(handle.ready.ops_port) };
    this.replicas.push(r);
    return r;
  }

  /** Replaces replica i by a fresh process (after it was stopped or killed). */
  async restartReplica(i: number, extra?: Record<string, string>): Promise<Replica> {
    await this.replicas[i]!.handle.stop();
    this.replicas[i]!.client.close();
    const handle = await spawnDeployable("presence", this.env({ SB_POD_NAME: `presence-${i}`, ...extra }));
    const client = presenceClient(handle);
    this.clients.push(client);
    const r = { handle, client, opsPort: Number(handle.ready.ops_port) };
    this.replicas[i] = r;
    return r;
  }

  client(i: number): PresenceClient {
    return this.replicas[i]!.client;
  }

  private userCount = 0;
  /** Users through the accounts API; the first one of a cluster is the system admin. */
  async createUser(): Promise<User> {
    const username = `u${++this.userCount}x${Date.now().toString(36)}`;
    const password = "password-1";
    const { user } = await this.accountsClient.createUser({ username, email: `${username}@example.com`, password });
    const { token } = await this.accountsClient.login({ loginId: username, password });
    return { id: user!.id, token };
  }

  eventsFor(userId: string): StatusEvent[] {
    return this.events.filter((e) => e.recipient === userId);
  }

  /** Waits until the user's own status_change events are exactly `expected`, in order. */
  async waitForEvents(userId: string, expected: readonly string[], timeoutMs = 10_000): Promise<void> {
    const want = JSON.stringify(expected);
    try {
      await waitFor(() => JSON.stringify(this.statusesFor(userId)) === want, { timeoutMs });
    } catch {
      throw new Error(`expected status_change ${want} for ${userId}, got ${JSON.stringify(this.statusesFor(userId))}`);
    }
  }

  statusesFor(userId: string): string[] {
    return this.eventsFor(userId).map((e) => e.status);
  }

  async metric(replica: number, name: string): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${this.replicas[replica]!.opsPort}/metrics`);
    const text = await res.text();
    let sum = 0;
    for (const line of text.split("\n")) if (line.startsWith(name) && /^[a-z_]+(\{[^}]*\})? /.test(line)) sum += Number(line.split(" ").pop());
    return sum;
  }

  private kv: KvStore | undefined;
  private kvBus: Bus | undefined;
  /** The user's record as stored in KV right now (not through any replica's cache). */
  async record(userId: string): Promise<StatusRecord | null> {
    // Read as presence: the bucket is presence's alone.
    this.kvBus ??= await connectBus({ ...this.nats.as("presence"), name: "presence-test-kv" });
    this.kv ??= await openKv(this.kvBus, { bucket: this.bucket });
    const e = await this.kv.get(userKey(userId));
    return e ? decodeRecord(e.value) : null;
  }

  async stop(): Promise<void> {
    this.sub?.unsubscribe();
    for (const c of this.clients) c.close();
    this.accountsClient.close();
    await Promise.all(this.replicas.map((r) => r.handle.stop()));
    await this.bus.close();
    await this.kvBus?.close();
    await this.accounts.stop();
    await this.nats.stop();
  }
}

/** A gateway as presence sees it: a lease, reports of connection events, renewals. */
export class SimGateway {
  leaseId = "";
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private client: PresenceClient,
    readonly name: string,
  ) {}

  /** Later reports go to another replica (gateways may reach any replica). */
  use(client: PresenceClient): this {
    this.client = client;
    return this;
  }

  async acquire(): Promise<this> {
    this.leaseId = (await this.client.acquireLease({ gatewayId: this.name })).leaseId;
    return this;
  }

  /** Reports in order, one at a time (as a gateway must). */
  report(events: MessageInitShape<typeof ConnectionEventSchema>[], fullSnapshot = false): Promise<unknown> {
    const p = this.chain.then(() => this.client.report({ leaseId: this.leaseId, events, fullSnapshot }));
    this.chain = p.catch(() => undefined);
    return p;
  }

  open(userId: string, connectionId: string) {
    return this.report([opened(userId, connectionId)]);
  }
  close(userId: string, connectionId: string) {
    return this.report([closed(userId, connectionId)]);
  }
  activity(userId: string, active = true, manual = false) {
    return this.report([{ kind: { case: "activity", value: { userId, active, manual, at: BigInt(Date.now()) } } }]);
  }

  /** Empty reports every third of the TTL, like a healthy gateway. */
  startRenewing(intervalMs = TIMING.leaseTtlMs / 3): void {
    this.timer = setInterval(() => void this.report([]).catch(() => undefined), intervalMs);
  }

  /** The gateway hangs or dies: no more reports. */
  stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

export function opened(userId: string, connectionId: string): MessageInitShape<typeof ConnectionEventSchema> {
  return { kind: { case: "opened", value: { userId, connectionId, at: BigInt(Date.now()) } } };
}
export function closed(userId: string, connectionId: string): MessageInitShape<typeof ConnectionEventSchema> {
  return { kind: { case: "closed", value: { userId, connectionId, at: BigInt(Date.now()) } } };
}

/** The error code of a failed call ("ok" when it succeeded). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e: unknown) {
    return e instanceof AppError ? e.code : `other: ${String(e)}`;
  }
}

export async function statusOn(client: PresenceClient, token: string, userId: string): Promise<string> {
  return (await client.getStatus({ userId }, { token })).status?.status ?? "?";
}

/** Waits until every replica reports `status` for the user. */
export async function waitForStatus(c: Cluster, token: string, userId: string, status: string, timeoutMs = 5_000): Promise<void> {
  await waitFor(
    async () => {
      for (const r of c.replicas) if ((await statusOn(r.client, token, userId)) !== status) return false;
      return true;
    },
    { timeoutMs, what: `${userId} to be ${status} on every replica` },
  );
}
