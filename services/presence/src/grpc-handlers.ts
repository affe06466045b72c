import { type PresenceService as PresenceServiceDesc } from "@switchboard/proto/presence";
import { isValidId } from "@switchboard/model";
import { EncodedResponse, type CallContext, type ImplOf } from "@switchboard/rpc";
import type { Actor } from "@switchboard/tokens";
import { badParam, cannotSetOthers, tooManyIds } from "./errors.js";
import { WireGetStatusesRequest } from "./get-statuses-decoder.js";
import type { LeaseManager } from "./presence/lease-manager.js";
import type { PresenceEngine } from "./presence/presence-engine.js";
import { isStatusName } from "./presence/status-record.js";
import type { PresenceCache } from "./store/presence-cache.js";
import type { ReadBarrier } from "./store/read-barrier.js";
import { toStatusMessage } from "./store/status-encoding.js";

/** Documented in presence.proto (GetStatusesRequest). */
export const MAX_IDS_PER_CALL = 1000;
const GATEWAY_ID = /^[\x21-\x7e]{1,128}$/;

export interface PresenceHandlerDeps {
  readonly engine: PresenceEngine;
  readonly leases: LeaseManager;
  readonly cache: PresenceCache;
  /** Read-your-writes across replicas for status reads (absent: the cache answers as it is). */
  readonly barrier?: ReadBarrier;
  /** The verified caller of a user-facing call (bearer token); rejects when absent or invalid. */
  readonly actor: (ctx: CallContext) => Promise<Actor>;
  readonly now?: () => number;
}

/**
 * gRPC <-> domain mapping. The status calls act for a user and need a session token.
 * The lease calls are gateway-internal and carry no user token.
 * They are not authenticated yet: service identity (mTLS or a signed service token) is still to come.
 */
export function presenceHandlers(d: PresenceHandlerDeps): ImplOf<typeof PresenceServiceDesc> {
  const now = d.now ?? Date.now;
  const leaseId = (id: string): string => {
    if (!isValidId(id)) throw badParam("lease_id");
    return id;
  };
  return {
    async acquireLease(req) {
      if (!GATEWAY_ID.test(req.gatewayId)) throw badParam("gateway_id", "1 to 128 printable ASCII characters.");
      const l = await d.leases.acquire(req.gatewayId);
      return { leaseId: l.leaseId, ttlMs: BigInt(l.ttlMs), renewIntervalMs: BigInt(l.renewIntervalMs) };
    },
    async report(req) {
      const refused = await d.engine.applyReport(leaseId(req.leaseId), req.events, req.fullSnapshot);
      return {
        ttlMs: BigInt(d.leases.ttlMs),
        renewIntervalMs: BigInt(d.leases.renewIntervalMs),
        refused: [...refused].map(([connectionId, reason]) => ({ connectionId, reason })),
      };
    },
    async releaseLease(req) {
      await d.leases.release(leaseId(req.leaseId));
      return {};
    },
    async setStatus(req, ctx) {
      const actor = await d.actor(ctx);
      if (!isValidId(req.userId)) throw badParam("user_id");
      if (!isStatusName(req.status)) throw badParam("status", "Use online, away, dnd, offline or ooo.");
      const end = Number(req.dndEndTime);
      if (req.status !== "dnd" && end !== 0) throw badParam("dnd_end_time", "Only a dnd status has an end time.");
      if (end !== 0 && end * 1000 <= now()) throw badParam("dnd_end_time", "The end time must be in the future (Unix seconds).");
      if (req.userId !== actor.userId && !actor.isSystemAdmin) throw cannotSetOthers();
      const r = await d.engine.setStatus(req.userId, req.status, end);
      return { status: toStatusMessage(req.userId, r) };
    },
    async getStatus(req, ctx) {
      await d.actor(ctx);
      if (!isValidId(req.userId)) throw badParam("user_id");
      // A user the cache has as offline may have connected through another replica a moment ago.
      if (d.barrier && (d.cache.user(req.userId)?.value.status ?? "offline") === "offline") await d.barrier.sync();
      return new EncodedResponse(d.cache.encodeStatuses([req.userId]));
    },
    async getStatuses(req, ctx) {
      await d.actor(ctx);
      // A request of plain ids arrives as its bytes, its ids checked by the decoder already.
      const wire = req instanceof WireGetStatusesRequest ? req : undefined;
      const count = wire ? wire.count : req.userIds.length;
      if (count > MAX_IDS_PER_CALL) throw tooManyIds(MAX_IDS_PER_CALL);
      if (count === 0) throw badParam("user_ids");
      await d.barrier?.sync();
      if (wire) return d.cache.statuses(wire);
      const ids = req.userIds;
      for (let i = 0; i < ids.length; i++) if (!isValidId(ids[i])) throw badParam("user_ids");
      return new EncodedResponse(d.cache.encodeStatuses(ids));
    },
    async listActiveStatuses(_req, ctx) {
      await d.actor(ctx);
      await d.barrier?.sync();
      return new EncodedResponse(d.cache.encodeActiveStatuses());
    },
  };
}
