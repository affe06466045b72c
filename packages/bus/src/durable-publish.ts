/**
 * Durable publishes: a JetStream publish that resolves with the stream's ack.
 *
 * Many publishes are in flight at once on one connection (the outbox relay keeps one per
 * channel), so the per-publish cost matters. The JetStream client's publish is a full request:
 * a request object, a deferred, a timer and two error objects per message. Here a connection
 * has one reply subscription (`<inbox>.*`); a publish is the message with its own reply token,
 * one map entry and one small closure; one sweep timer fails publishes that outlive their
 * timeout, and a closed connection fails every publish still waiting.
 */
import { createInbox, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { inboxPrefixOf, natsConnectionOf, type Bus } from "./bus.js";
import { natsHeaders as headerNames } from "./contracts/index.js";

export interface DurablePublishResult {
  readonly stream: string;
  readonly seq: number;
  /** The stream already held a message with this id: nothing was stored. */
  readonly duplicate: boolean;
}

/** Why a durable publish failed; callers branch on this (and apiCode), never on the message. */
export type DurablePublishFailure = "no_stream" | "rejected" | "unreadable_ack" | "timeout" | "closed" | "send_failed";

export class DurablePublishError extends Error {
  override readonly name = "DurablePublishError";
  constructor(
    readonly subject: string,
    readonly reason: DurablePublishFailure,
    why: string,
    /** The JetStream API error code (err_code) of a rejected publish, when the stream gave one. */
    readonly apiCode?: number,
    options?: { cause?: unknown },
  ) {
    super(`JetStream publish to ${subject} ${why}`, options);
  }
}

interface Pending {
  readonly subject: string;
  readonly expiresAt: number;
  readonly resolve: (r: DurablePublishResult) => void;
  readonly reject: (e: Error) => void;
}

interface Publisher {
  publish(subject: string, data: Uint8Array, msgId: string, timeoutMs: number): Promise<DurablePublishResult>;
}

const publishers = new WeakMap<Bus, Publisher>();
const decoder = new TextDecoder();

/** The stream's answer to one publish: an ack, a JetStream API error, or a status (503: no stream). */
function settle(p: Pending, m: Msg): void {
  const h = m.headers;
  if (h?.hasError) {
    if (h.code === 503) p.reject(new DurablePublishError(p.subject, "no_stream", "failed: no stream takes this subject"));
    else p.reject(new DurablePublishError(p.subject, "rejected", `failed: ${String(h.code)} ${h.description}`));
    return;
  }
  let ack: { stream?: string; seq?: number; duplicate?: boolean; error?: { code?: number; err_code?: number; description?: string } };
  try {
    ack = JSON.parse(decoder.decode(m.data)) as typeof ack;
  } catch {
    p.reject(new DurablePublishError(p.subject, "unreadable_ack", "failed: unreadable ack"));
    return;
  }
  if (ack.error || typeof ack.stream !== "string" || typeof ack.seq !== "number") {
    const why = `failed: ${ack.error?.description ?? "no ack"} (${String(ack.error?.err_code ?? ack.error?.code ?? "?")})`;
    p.reject(new DurablePublishError(p.subject, "rejected", why, ack.error?.err_code));
    return;
  }
  p.resolve({ stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate === true });
}

function createPublisher(nc: NatsConnection, inboxPrefix: string | undefined): Publisher {
  // Under the connection's inbox prefix: the only inbox its NATS user may subscribe to.
  const prefix = createInbox(inboxPrefix);
  const pending = new Map<number, Pending>();
  let next = 0;
  let sweeper: NodeJS.Timeout | undefined;
  let sub: Subscription | undefined;

  const failAll = (why: string): void => {
    for (const p of pending.values()) p.reject(new DurablePublishError(p.subject, "closed", `failed: ${why}`));
    pending.clear();
  };
  const sweep = (): void => {
    const now = Date.now();
    // Entries are in publish order; with equal timeouts the expired ones come first. A shorter
    // timeout behind a longer one waits at most one more sweep of that longer one's interval.
    for (const [token, p] of pending) {
      if (p.expiresAt > now) break;
      pending.delete(token);
      p.reject(new DurablePublishError(p.subject, "timeout", "timed out"));
    }
    if (pending.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  const subscribe = (): Subscription => {
    const s = nc.subscribe(`${prefix}.*`, {
      callback: (err, m) => {
        if (err) return;
        const token = Number(m.subject.slice(prefix.length + 1));
        const p = pending.get(token);
        if (!p) return; // timed out already
        pending.delete(token);
        settle(p, m);
      },
    });
    void s.closed.then(() => {
      if (sub === s) sub = undefined;
      failAll("the connection closed");
    });
    return s;
  };

  return {
    publish(subject, data, msgId, timeoutMs) {
      if (nc.isClosed()) return Promise.reject(new DurablePublishError(subject, "closed", "failed: the connection is closed"));
      sub ??= subscribe();
      const token = next++;
      const h = natsHeaders();
      h.set(headerNames.msgId, msgId);
      return new Promise<DurablePublishResult>((resolve, reject) => {
        pending.set(token, { subject, expiresAt: Date.now() + timeoutMs, resolve, reject });
        sweeper ??= setInterval(sweep, Math.max(10, Math.min(250, timeoutMs))).unref();
        try {
          nc.publish(subject, data, { reply: `${prefix}.${String(token)}`, headers: h });
        } catch (e: unknown) {
          pending.delete(token);
          reject(new DurablePublishError(subject, "send_failed", `failed: ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e }));
        }
      });
    },
  };
}

/** Publishes and waits for the stream's ack. Rejects on timeout or when no stream matches. */
export function publishDurable(bus: Bus, subject: string, data: Uint8Array, o: { msgId: string; timeoutMs?: number }): Promise<DurablePublishResult> {
  let p = publishers.get(bus);
  if (!p) {
    p = createPublisher(natsConnectionOf(bus), inboxPrefixOf(bus));
    publishers.set(bus, p);
  }
  return p.publish(subject, data, o.msgId, o.timeoutMs ?? 5_000);
}
