/**
 * A response message its handler writes itself at the moment it is sent, straight into the
 * connection's output batch: a hot path then allocates no buffer per answer (buffers are
 * memory outside the JS heap, which V8 counts against its old-generation limit until a
 * collection frees them; see h2/connection.ts, flush).
 *
 * `length` is the message's exact size. writeTo is called once, synchronously, while the call
 * sends its answer (after the handler's promise settled): it writes a valid encoding of the
 * method's output message of exactly `length` bytes at `at` and returns where it stopped.
 * Whatever it reads must not change between the handler's return and that moment.
 */
import type { DescMessage } from "@bufbuild/protobuf";

export abstract class MessageWriter<Desc extends DescMessage = DescMessage> {
  declare readonly desc?: Desc;
  abstract readonly length: number;
  abstract writeTo(out: Buffer, at: number): number;
}

/**
 * A response already in protobuf wire form, for hot paths that keep their answers encoded
 * (the bytes must be a valid encoding of the method's output message; nothing checks them).
 */
export class EncodedResponse<Desc extends DescMessage = DescMessage> {
  declare readonly desc?: Desc;
  constructor(readonly bytes: Uint8Array) {}
}
