/**
 * The JetStream streams: name, the subjects each stores, and what its messages carry. Both
 * hold event envelopes; consumers are ordered and ephemeral (named by the server), so no
 * consumer name is part of any contract.
 */
import { EventSchema } from "@switchboard/proto/events";
import { protobuf, type Payload } from "./payload.js";
import { subjects } from "./subjects.js";

export interface StreamContract<T> {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly payload: Payload<T>;
}

export const streams = {
  /**
   * Every Mattermost event envelope: posts's (`sb.evt.>`), gateways' typing (`sb.eph.>`), presence's status changes
   * (`sb.status.>`) and accounts' user events (`sb.acct.>`); replay for resumes, reconnects
   * and channel back-fill. Owned (created, configured) by posts.
   */
  events: { name: "SB_EVT", subjects: [subjects.allEvents, subjects.allEphemeral, subjects.allStatus, subjects.allAccounts], payload: protobuf(EventSchema) },
  /** Session control from accounts (revocations, event `sb_session_revoked`): followed by every token verifier. */
  control: { name: "SB_CTL", subjects: [subjects.allSessionControl], payload: protobuf(EventSchema) },
} as const satisfies Record<string, StreamContract<unknown>>;

export type StreamName = (typeof streams)[keyof typeof streams]["name"];
