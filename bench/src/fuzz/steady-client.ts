/**
 * The well-behaved client that runs through the whole fuzz run: the stock Mattermost client
 * posting over REST in a channel of its own, the same posts awaited as `posted` events on its
 * WebSocket, and gRPC calls to posts. Every failure, timeout, reconnect or missed event is an
 * error of the run; latencies go to the current phase.
 */
import { PostsService } from "@switchboard/proto/posts";
import { createRpcClient, type PostsClient } from "@switchboard/rpc";
import { newClient4, newWebSocketClient, waitFor, type Client4, type WebSocketClient, testClientTls } from "@switchboard/testkit";

export interface PhaseStats {
  readonly ms: { post: number[]; event: number[]; grpc: number[] };
  readonly errors: string[];
}

const EVENT_DEADLINE_MS = 5_000;

export interface SteadyClient {
  /** Starts a new phase and returns the last one's figures. */
  rotate(): PhaseStats;
  stop(): Promise<PhaseStats>;
}

const fresh = (): PhaseStats => ({ ms: { post: [], event: [], grpc: [] }, errors: [] });

export async function startSteadyClient(o: {
  gatewayUrl: string;
  postsAddr: string;
  token: string;
  channelId: string;
  intervalMs: number;
}): Promise<SteadyClient> {
  let stats = fresh();
  const rest: Client4 = newClient4(o.gatewayUrl);
  rest.setToken(o.token);
  const grpc: PostsClient = createRpcClient(PostsService, { address: o.postsAddr, defaultDeadlineMs: 5_000, tls: testClientTls("posts") });
  const ws: WebSocketClient = newWebSocketClient({ headers: { Authorization: `Bearer ${o.token}` } });
  let hello = false;
  const awaited = new Map<string, { at: number; stats: PhaseStats }>();
  ws.addMessageListener((msg) => {
    const m = msg as { event?: string; data?: Record<string, unknown> };
    if (m.event === "hello") hello = true;
    if (m.event !== "posted") return;
    const post = JSON.parse(String(m.data?.post)) as { pending_post_id?: string };
    const w = post.pending_post_id ? awaited.get(post.pending_post_id) : undefined;
    if (!w) return;
    awaited.delete(post.pending_post_id!);
    w.stats.ms.event.push(performance.now() - w.at);
  });
  ws.addMissedMessageListener(() => stats.errors.push("websocket: missed events reported"));
  ws.addReconnectListener(() => stats.errors.push("websocket: reconnected"));
  ws.initialize(`${o.gatewayUrl.replace(/^http/, "ws")}/api/v4/websocket`, undefined, true);
  await waitFor(() => hello, { timeoutMs: 10_000, what: "the steady client's hello" });

  let n = 0;
  const tick = async () => {
    const s = stats;
    const pending = `steady${String(n++)}x${Date.now().toString(36)}`;
    const t0 = performance.now();
    awaited.set(pending, { at: t0, stats: s });
    try {
      await rest.createPost({ channel_id: o.channelId, message: `steady ${String(n)}`, pending_post_id: pending });
      s.ms.post.push(performance.now() - t0);
    } catch (e: unknown) {
      awaited.delete(pending);
      s.errors.push(`REST createPost: ${String(e).slice(0, 200)}`);
    }
    const t1 = performance.now();
    try {
      await grpc.getChannel({ channelId: o.channelId }, { token: o.token });
      s.ms.grpc.push(performance.now() - t1);
    } catch (e: unknown) {
      s.errors.push(`gRPC GetChannel: ${String(e).slice(0, 200)}`);
    }
    const now = performance.now();
    for (const [id, w] of awaited) {
      if (now - w.at > EVENT_DEADLINE_MS) {
        awaited.delete(id);
        w.stats.errors.push(`websocket: no posted event within ${String(EVENT_DEADLINE_MS)} ms`);
      }
    }
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await tick();
      const wait = o.intervalMs - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();

  return {
    rotate() {
      const done = stats;
      stats = fresh();
      return done;
    },
    async stop() {
      running = false;
      await loop;
      await waitFor(() => awaited.size === 0 || undefined, { timeoutMs: EVENT_DEADLINE_MS + 1_000, what: "the last posted events" }).catch(() => undefined);
      for (const w of awaited.values()) w.stats.errors.push("websocket: posted event missing at the end");
      ws.close();
      grpc.close();
      return stats;
    },
  };
}
