import { describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { GetStatusesRequestSchema } from "@switchboard/proto/presence";
import { newId } from "@switchboard/model";
import { decodeGetStatusesRequest, hasValidIds } from "./get-statuses-decoder.js";

const wire = (userIds: string[]): Buffer => Buffer.from(toBinary(GetStatusesRequestSchema, create(GetStatusesRequestSchema, { userIds })));

/** Both decoders on the same bytes: the same message, or both refuse. */
function same(bytes: Buffer): void {
  let want: unknown;
  let wantErr = false;
  try {
    want = fromBinary(GetStatusesRequestSchema, bytes);
  } catch {
    wantErr = true;
  }
  if (wantErr) expect(() => decodeGetStatusesRequest(bytes)).toThrow();
  else expect(decodeGetStatusesRequest(bytes)).toEqual(want);
}

describe("GetStatusesRequest fast decoder", () => {
  it("reads a list of valid ids as protobuf-es does, and marks it checked", () => {
    const ids = Array.from({ length: 100 }, () => newId());
    const m = decodeGetStatusesRequest(wire(ids));
    expect(m).toEqual(fromBinary(GetStatusesRequestSchema, wire(ids)));
    expect(m.userIds).toEqual(ids);
    expect(hasValidIds(m.userIds)).toBe(true);
    // The mark is for the call in hand only.
    expect(hasValidIds(m.userIds)).toBe(false);
  });

  it("leaves everything else to protobuf-es, unmarked", () => {
    const id = newId();
    same(wire([]));
    const odd = [
      wire(["A".repeat(26)]),
      wire(["a".repeat(25) + "é"]),
      wire(["a".repeat(25)]),
      wire([id, "x".repeat(27)]),
      wire([id, "a".repeat(25) + "{"]),
      Buffer.concat([wire([id]), Buffer.from([0x10, 0x01])]), // an unknown varint field
      Buffer.concat([wire([id]), Buffer.from([0x0a])]), // truncated
      Buffer.from([0x0a, 0x1a, ...Buffer.from("a".repeat(25)), 0xff]), // not UTF-8
      Buffer.from([0x12, 0x1a, ...Buffer.from("a".repeat(26))]), // another field number
    ];
    for (const bytes of odd) {
      same(bytes);
      let ids: string[] | undefined;
      try {
        ids = decodeGetStatusesRequest(bytes).userIds;
      } catch {
        // refused, as protobuf-es refuses it
      }
      if (ids !== undefined) expect(hasValidIds(ids)).toBe(false);
    }
  });

  it("agrees with protobuf-es on random mutations of a valid request", () => {
    const base = wire(Array.from({ length: 5 }, () => newId()));
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 5_000; i++) {
      const b = Buffer.from(base);
      for (let k = 0; k <= rnd(3); k++) b[rnd(b.length)] = rnd(256);
      same(b);
    }
  });
});
