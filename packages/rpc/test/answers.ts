/** The answers the rpc tests' presence handlers give, shared by the tests of both servers and of h2 alone. */
import { create, toBinary } from "@bufbuild/protobuf";
import { GetStatusesResponseSchema } from "@switchboard/proto/presence";
import { MessageWriter } from "../src/index.js";

export const never = () => new Promise<never>(() => {});
export const BIG_STATUSES = 40_000;
export const bigAnswer = toBinary(
  GetStatusesResponseSchema,
  create(GetStatusesResponseSchema, {
    statuses: Array.from({ length: BIG_STATUSES }, (_, i) => ({ userId: `user${String(i).padStart(22, "0")}`, status: "online" })),
  }),
);
/** n statuses whose ids name the call and their place in it, so a mixed-up answer shows. */
export const taggedAnswer = (tag: string, n: number): Uint8Array =>
  toBinary(
    GetStatusesResponseSchema,
    create(GetStatusesResponseSchema, { statuses: Array.from({ length: n }, (_, i) => ({ userId: `${tag}-${i}`, status: "online" })) }),
  );

/** Writes given bytes in place; `extra` makes it declare more than it writes. */
export class BytesWriter extends MessageWriter<typeof GetStatusesResponseSchema> {
  readonly length: number;
  constructor(
    private readonly bytes: Uint8Array,
    extra = 0,
  ) {
    super();
    this.length = bytes.length + extra;
  }
  writeTo(out: Buffer, at: number): number {
    out.set(this.bytes, at);
    return at + this.bytes.length;
  }
}
