import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { EventSchema, type Event } from "@switchboard/proto/events";

/** The event envelope's wire form on NATS. */
export function encodeEvent(e: Event): Uint8Array {
  return toBinary(EventSchema, e);
}

/** Throws on bytes that are not an event envelope. */
export function decodeEvent(bytes: Uint8Array): Event {
  return fromBinary(EventSchema, bytes);
}
