/**
 * How every component but accounts decides who is calling, without a database or an RPC per
 * request: the token's signature is checked against the accounts service's published keys,
 * and its session against the revocations that service publishes on the SB_CTL stream.
 *
 * Start-up order closes the gap between the two sources: follow the stream first (it keeps
 * every revocation of its retention window), then load the full list of live revocations.
 */
import { decodeEvent, EventName, followStream, streams, type Bus, type SessionRevokedData, type StreamReader } from "@switchboard/bus";
import type { Component } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import { AppError } from "@switchboard/model";
import type { AccountsClient, CallContext } from "@switchboard/rpc";
import { actorFromClaims, createKeyRing, createRevocationSet, createSessionVerifier, TokenError, type Actor } from "@switchboard/tokens";

export interface SessionAuthOptions {
  readonly accounts: AccountsClient;
  readonly bus: Bus;
  readonly log: Logger;
  /** How often to re-read the published keys (new keys are also fetched on first sight). */
  readonly keyRefreshMs?: number;
  /** Longest a call waits for the verifier to be ready (default 5 s). */
  readonly readyWaitMs?: number;
}

export interface SessionAuth extends Component {
  /**
   * Resolves the actor of a valid token; rejects with AppError("unauthenticated"). Until the
   * revocations are loaded a revoked token could pass, so an early call waits for them
   * (until `deadline`, at most `readyWaitMs`), then fails "unavailable".
   */
  verify(token: string, deadline?: number): Promise<Actor>;
  /** The actor of a gRPC call (bearer token in metadata, waiting within the call's deadline); rejects when absent or invalid. */
  actor(ctx: CallContext): Promise<Actor>;
  /** As actor(), but undefined when the call carries no token (internal calls). */
  optionalActor(ctx: CallContext): Promise<Actor | undefined>;
  /** Called for every revocation learned (live sessions must be closed). */
  onRevoked(listener: (sessionId: string, userId: string) => void): () => void;
  isRevoked(sessionId: string): boolean;
  /** True once keys and revocations are loaded (start() keeps retrying until then). */
  readonly ready: boolean;
  whenReady(): Promise<void>;
}

export function createSessionAuth(o: SessionAuthOptions): SessionAuth {
  const ring = createKeyRing();
  const revocations = createRevocationSet();
  const listeners = new Set<(sessionId: string, userId: string) => void>();
  const log = o.log.child({ part: "session-auth" });
  let reader: StreamReader | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ready = false;
  let stopped = false;
  let markReady: () => void = () => {};
  const readyP = new Promise<void>((r) => (markReady = r));

  const loadKeys = async (): Promise<void> => {
    const { keys } = await o.accounts.listSigningKeys({}, { deadlineMs: 5_000 });
    ring.replace(keys.map((k) => ({ kid: k.kid, publicKey: k.publicKey, expiresAt: Number(k.expiresAt) })));
  };
  const verifier = createSessionVerifier({ keys: ring, revocations, refreshKeys: loadKeys });

  const revoke = (sessionId: string, userId: string, expiresAt: number): void => {
    const known = revocations.has(sessionId);
    revocations.add(sessionId, expiresAt);
    if (!known) for (const l of listeners) l(sessionId, userId);
  };

  const unauthenticated = (why: string): AppError =>
    new AppError("unauthenticated", `Invalid or expired session, please login again. (${why})`, "api.context.session_expired.app_error");

  async function untilReady(deadline: number): Promise<void> {
    if (ready) return;
    const wait = Math.max(0, Math.min(o.readyWaitMs ?? 5_000, deadline - Date.now()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([readyP, new Promise<void>((r) => (timer = setTimeout(r, wait)))]);
    clearTimeout(timer);
    if (!ready) throw new AppError("unavailable", "Session verification is not ready yet; retry.", "app.session.not_ready");
  }

  async function verify(token: string, deadline = Infinity): Promise<Actor> {
    await untilReady(deadline);
    try {
      return actorFromClaims(await verifier.verify(token));
    } catch (e: unknown) {
      if (e instanceof TokenError) throw unauthenticated(e.reason);
      throw new AppError("unavailable", "session keys are not available", "app.session.keys_unavailable", { cause: e });
    }
  }

  async function init(): Promise<void> {
    reader = await followStream(o.bus, {
      stream: streams.control.name,
      filterSubjects: streams.control.subjects,
      start: "all",
      onMessage: (m) => {
        try {
          const ev = decodeEvent(m.data);
          if (ev.event !== EventName.SessionRevoked) return;
          const d = JSON.parse(Buffer.from(ev.data).toString()) as Partial<SessionRevokedData>;
          if (typeof d.session_id === "string" && typeof d.user_id === "string") revoke(d.session_id, d.user_id, Number(d.expires_at ?? 0));
        } catch (e: unknown) {
          log.warn({ err: e }, "undecodable control message");
        }
      },
    });
    await loadKeys();
    const { revocations: live } = await o.accounts.listRevocations({}, { deadlineMs: 10_000 });
    for (const r of live) revoke(r.sessionId, r.userId, Number(r.expiresAt));
    timer = setInterval(() => {
      revocations.prune(Date.now());
      loadKeys().catch((e: unknown) => log.warn({ err: e }, "key refresh failed"));
    }, o.keyRefreshMs ?? 300_000);
    timer.unref();
    log.info({ keys: ring.size, revocations: revocations.size }, "session verification ready");
  }

  return {
    name: "session-auth",
    verify,
    async actor(ctx) {
      const token = ctx.bearerToken();
      if (!token) throw unauthenticated("no token");
      return verify(token, ctx.deadline);
    },
    async optionalActor(ctx) {
      const token = ctx.bearerToken();
      return token === undefined ? undefined : verify(token, ctx.deadline);
    },
    onRevoked(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    isRevoked: (sid) => revocations.has(sid),
    get ready() {
      return ready;
    },
    whenReady: () => readyP,
    async start() {
      // Keeps trying in the background: accounts or the SB_CTL stream may come up after us.
      void (async () => {
        for (let attempt = 0; !stopped && !ready; attempt++) {
          try {
            await init();
            ready = true;
            markReady();
          } catch (e: unknown) {
            if (attempt % 10 === 0) log.warn({ err: e }, "session verification not ready yet, retrying");
            await reader?.stop().catch(() => undefined);
            reader = undefined;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      })();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await reader?.stop();
    },
  };
}
