/**
 * What a subject, stream or bucket key carries. A contract names its payload once; the type
 * parameter is the decoded value, so `PayloadOf<typeof streams.events>` is the protobuf Event.
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";

export type Payload<T> =
  | { readonly encoding: "protobuf"; readonly schema: DescMessage; readonly decoded?: T }
  | { readonly encoding: "json"; readonly shape: string; readonly decoded?: T }
  | { readonly encoding: "bytes"; readonly what: string; readonly decoded?: T }
  | { readonly encoding: "empty"; readonly decoded?: T };

/** A protobuf message of this schema (binary wire form). */
export const protobuf = <S extends DescMessage>(schema: S): Payload<MessageShape<S>> => ({ encoding: "protobuf", schema });
/** A UTF-8 JSON document of shape T (named for readers of the contract). */
export const json = <T>(shape: string): Payload<T> => ({ encoding: "json", shape });
/** Opaque bytes, described. */
export const bytes = (what: string): Payload<Uint8Array> => ({ encoding: "bytes", what });
/** No body: the message itself is the signal. */
export const empty: Payload<void> = { encoding: "empty" };

/** The decoded payload type of a contract. */
export type PayloadOf<C> = C extends { readonly payload: Payload<infer T> } ? T : never;
