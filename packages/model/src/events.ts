import { create } from "@bufbuild/protobuf";
import { BroadcastSchema, EventSchema, type Broadcast, type Event, type MembershipChange, type PostedHints } from "@switchboard/proto/events";
import { newId, nowMs } from "./ids.js";
import { jsonBytes } from "./json/json-bytes.js";

export interface NewEvent {
  /** Mattermost event name. */
  readonly event: string;
  readonly data: Record<string, unknown>;
  readonly broadcast: Partial<Omit<Broadcast, "$typeName" | "$unknown">>;
  readonly changeId?: string;
  readonly membership?: MembershipChange;
  readonly posted?: PostedHints;
  readonly originTimeMs?: number;
  readonly channelSeq?: bigint;
}

/** Builds one event envelope with a fresh id; `data` is serialized once here. */
export function newEvent(e: NewEvent): Event {
  return create(EventSchema, {
    id: newId(),
    event: e.event,
    data: jsonBytes(e.data),
    broadcast: create(BroadcastSchema, e.broadcast),
    originTimeMs: BigInt(e.originTimeMs ?? nowMs()),
    changeId: e.changeId ?? "",
    membership: e.membership,
    posted: e.posted,
    channelSeq: e.channelSeq ?? 0n,
  });
}
