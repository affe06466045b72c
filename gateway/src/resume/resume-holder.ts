/**
 * The holder side of a cross-gateway resume: answers claims for connections this gateway
 * holds (with or without a socket) and stays silent for the others. Subscribed from start-up
 * until the NATS drain, so drained connections can still be claimed.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { answerVersion, subjects, type Bus, type BusMessage, type BusSubscription } from "@switchboard/bus";
import type { Component } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import { ResumeClaimSchema, ResumeHandover_Result, ResumeHandoverSchema, type ResumeClaim } from "@switchboard/proto/gateway";
import { frameToWire } from "./handover-frames.js";

/** A holder's decision about one claim; undefined: not held here. */
export type Handover =
  | { readonly result: "handed_over"; readonly frames: readonly Uint8Array[]; readonly ids: readonly string[] }
  | { readonly result: "refused" }
  | { readonly result: "gap" }
  | undefined;

/** The sessions layer's part: give a connection up (it forgets it when handing it over). */
export interface ConnectionHolder {
  handOver(connectionId: string, userId: string, sequence: number): Handover;
}

export interface ResumeHolderOptions {
  readonly bus: Bus;
  readonly holder: ConnectionHolder;
  readonly log: Logger;
  readonly podName: string;
  readonly onAnswer: (result: "handed_over" | "refused" | "gap") => void;
}

const RESULTS = {
  handed_over: ResumeHandover_Result.HANDED_OVER,
  refused: ResumeHandover_Result.REFUSED,
  gap: ResumeHandover_Result.GAP,
} as const;

export class ResumeHolder implements Component {
  readonly name = "resume-holder";
  private sub: BusSubscription | undefined;
  private readonly log: Logger;

  constructor(private readonly o: ResumeHolderOptions) {
    this.log = o.log.child({ part: "resume-holder" });
  }

  async start(): Promise<void> {
    this.sub = this.o.bus.subscribe(subjects.allResumeClaims, (m) => this.onClaim(m));
    await this.o.bus.flush();
  }

  async stop(): Promise<void> {
    this.sub?.unsubscribe();
  }

  private onClaim(m: BusMessage): void {
    let claim: ResumeClaim;
    try {
      claim = fromBinary(ResumeClaimSchema, m.data);
    } catch {
      this.log.warn({ subject: m.subject }, "undecodable resume claim dropped");
      return;
    }
    const version = answerVersion(claim.version);
    if (version === undefined || !m.reply || claim.sequenceNumber > BigInt(Number.MAX_SAFE_INTEGER)) {
      if (version === undefined) this.log.warn({ conn_id: claim.connectionId, version: claim.version }, "resume claim in a version no longer read");
      return;
    }
    const seq = Number(claim.sequenceNumber);
    const h = this.o.holder.handOver(claim.connectionId, claim.userId, seq);
    if (!h) return;
    const answer = create(ResumeHandoverSchema, { version, result: RESULTS[h.result], holder: this.o.podName });
    if (h.result === "handed_over") {
      answer.firstSeq = claim.sequenceNumber;
      answer.frames = h.frames.map(frameToWire);
      answer.eventIds = [...h.ids];
    }
    this.o.onAnswer(h.result);
    const bytes = toBinary(ResumeHandoverSchema, answer);
    this.log.info(
      { conn_id: claim.connectionId, result: h.result, events: answer.frames.length, bytes: bytes.length, claimant: claim.claimant },
      "resume claim answered",
    );
    try {
      m.respond(bytes);
    } catch (e: unknown) {
      // Over the server's max_payload, say: the claimant hears nothing and starts the client
      // over with a new connection_id (the connection is forgotten here already).
      this.log.warn({ conn_id: claim.connectionId, bytes: bytes.length, err: e }, "resume answer could not be sent");
    }
  }
}
