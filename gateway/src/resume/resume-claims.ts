/**
 * The claimant side of a cross-gateway resume: asks, over NATS request/reply, whichever
 * gateway holds a connection for the events it buffered (proto sb.gateway.v1). Gateways that
 * do not hold it stay silent, so "no holder" is the request timing out.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { resumeProtocol, subjects, understands, type Bus } from "@switchboard/bus";
import type { Logger } from "@switchboard/log";
import { ResumeClaimSchema, ResumeHandover_Result, ResumeHandoverSchema } from "@switchboard/proto/gateway";
import { frameFromWire } from "./handover-frames.js";

export type ClaimResult =
  | { readonly result: "claimed"; readonly firstSeq: number; readonly frames: Uint8Array[]; readonly ids: string[]; readonly holder: string }
  /** Nobody answered in time (a crashed holder, a forgotten connection), or the answer was unreadable. */
  | { readonly result: "missed" }
  /** The holder's connection belongs to another user. */
  | { readonly result: "refused" }
  /** The holder no longer has every event from the sequence on. */
  | { readonly result: "gap" };

/** What the sessions layer asks for a reconnect naming a connection this gateway does not hold. */
export interface ResumeClaims {
  claim(connectionId: string, userId: string, sequence: number): Promise<ClaimResult>;
}

export interface ResumeClaimsOptions {
  readonly bus: Bus;
  readonly log: Logger;
  /** How long to wait for a holder; no answer by then means a new connection. */
  readonly timeoutMs: number;
  readonly podName: string;
  /** At most this many frames are accepted (replay window + queue limit). */
  readonly maxFrames: number;
}

export function natsResumeClaims(o: ResumeClaimsOptions): ResumeClaims {
  const log = o.log.child({ part: "resume-claims" });
  return {
    async claim(connectionId, userId, sequence) {
      const claim = create(ResumeClaimSchema, {
        version: resumeProtocol.current,
        connectionId,
        userId,
        sequenceNumber: BigInt(sequence),
        claimant: o.podName,
      });
      let data: Uint8Array;
      try {
        data = (await o.bus.request(subjects.resumeClaim(connectionId), toBinary(ResumeClaimSchema, claim), o.timeoutMs)).data;
      } catch {
        return { result: "missed" };
      }
      try {
        const h = fromBinary(ResumeHandoverSchema, data);
        if (!understands(h.version)) {
          log.warn({ conn_id: connectionId, version: h.version, holder: h.holder }, "resume answer in a version this build does not read");
          return { result: "missed" };
        }
        if (h.result === ResumeHandover_Result.REFUSED) return { result: "refused" };
        if (h.result === ResumeHandover_Result.GAP) return { result: "gap" };
        if (h.result !== ResumeHandover_Result.HANDED_OVER || h.firstSeq !== BigInt(sequence)) throw new Error("unexpected result or first seq");
        if (h.frames.length !== h.eventIds.length || h.frames.length > o.maxFrames) throw new Error("frames and ids do not match");
        const frames: Uint8Array[] = [];
        for (const w of h.frames) {
          const f = frameFromWire(w);
          if (!f) throw new Error("a frame is not a Mattermost event");
          frames.push(f);
        }
        return { result: "claimed", firstSeq: sequence, frames, ids: h.eventIds, holder: h.holder };
      } catch (e: unknown) {
        // The holder has forgotten the connection: the client resyncs (never a partial replay).
        log.warn({ conn_id: connectionId, err: e }, "unreadable resume answer");
        return { result: "missed" };
      }
    },
  };
}
