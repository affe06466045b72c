/** Helpers shared by the gateway acceptance tests (stock client recorders, users, fences). */
import { randomBytes } from "node:crypto";
import type WebSocket from "ws";
import { newClient4, newWebSocketClient, waitFor, type Client4, type WebSocketClient } from "@switchboard/testkit";

export interface WsMessage {
  event?: string;
  seq?: number;
  seq_reply?: number;
  status?: string;
  data?: Record<string, unknown>;
  broadcast?: Record<string, unknown>;
  error?: Record<string, unknown>;
}

/** A stock WebSocketClient plus everything it received, in order. */
export interface Recorder {
  readonly client: WebSocketClient;
  readonly events: WsMessage[];
  readonly sockets: WebSocket[];
  missed: number;
  reconnects: number;
  /** Waits for an event matching pred (among those received from `from` on). */
  next(pred: (m: WsMessage) => boolean, o?: { timeoutMs?: number; from?: number }): Promise<WsMessage>;
  /** Events named `name`. */
  named(name: string): WsMessage[];
  close(): void;
}

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, "ws")}/api/v4/websocket`;
}

export async function connect(httpUrl: string, token: string, o: { postedAck?: boolean; headers?: Record<string, string> } = {}): Promise<Recorder> {
  const sockets: WebSocket[] = [];
  const client = newWebSocketClient({ headers: { Authorization: `Bearer ${token}`, ...o.headers }, sockets });
  const events: WsMessage[] = [];
  const r: Recorder = {
    client,
    events,
    sockets,
    missed: 0,
    reconnects: 0,
    async next(pred, opts = {}) {
      const from = opts.from ?? 0;
      return waitFor(() => events.slice(from).find(pred), { timeoutMs: opts.timeoutMs ?? 10_000, what: "websocket event" });
    },
    named: (name) => events.filter((e) => e.event === name),
    close: () => client.close(),
  };
  client.addMessageListener((m) => events.push(m as WsMessage));
  client.addMissedMessageListener(() => r.missed++);
  client.addReconnectListener(() => r.reconnects++);
  client.initialize(wsUrl(httpUrl), undefined, o.postedAck ?? true);
  await r.next((m) => m.event === "hello");
  return r;
}

export interface TestUser {
  readonly id: string;
  readonly username: string;
  readonly token: string;
  readonly client: Client4;
}

/** Creates a user through Client4 and logs in as them (Client4 keeps the Token header). */
export async function newUser(httpUrl: string, prefix = "user"): Promise<TestUser> {
  const username = `${prefix}${randomBytes(4).toString("hex")}`;
  const anon = newClient4(httpUrl);
  await anon.createUser({ username, email: `${username}@example.com`, password: "password-1" } as never, "", "");
  const client = newClient4(httpUrl);
  const me = await client.login(username, "password-1");
  return { id: me.id, username, token: client.getToken(), client };
}

/**
 * The webapp tests' cast on a fresh stack: the first user (the system admin, kept out of the
 * cast), then a user per name, all in one open team that the first creates, and an open
 * channel (its name from `prefix`) of the first two.
 */
export async function teamWithChannel(
  httpUrl: string,
  names: readonly string[],
  prefix: string,
  displayName: string,
): Promise<{ users: TestUser[]; teamId: string; channelId: string }> {
  await newUser(httpUrl, "admin");
  const users: TestUser[] = [];
  for (const n of names) users.push(await newUser(httpUrl, n));
  const [owner, second] = users as [TestUser, TestUser];
  const teamId = (await owner.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never)).id;
  for (const u of users.slice(1)) await owner.client.addToTeam(teamId, u.id);
  const channelId = (await owner.client.createChannel({ team_id: teamId, name: `${prefix}${Date.now()}`, display_name: displayName, type: "O" } as never)).id;
  await owner.client.addToChannel(second.id, channelId);
  return { users, teamId, channelId };
}

/** The post carried (as a JSON string) by a posted/post_edited/post_deleted event. */
export function postOf(m: WsMessage): Record<string, unknown> {
  return JSON.parse(String(m.data?.post)) as Record<string, unknown>;
}

/** Asserts every event (not replies) has seq 0, 1, 2, ... without holes. */
export function seqs(r: Recorder): number[] {
  return r.events.filter((e) => e.event !== undefined).map((e) => e.seq!);
}
