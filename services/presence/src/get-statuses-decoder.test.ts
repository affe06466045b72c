import { describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { GetStatusesRequestSchema, type GetStatusesRequest } from "@switchboard/proto/presence";
import { newId } from "@switchboard/model";
import { decodeGetStatusesRequest, WireGetStatusesRequest } from "./get-statuses-decoder.js";

const wire = (userIds: string[]): Buffer => Buffer.from(toBinary(GetStatusesRequestSchema, create(GetStatusesRequestSchema, { userIds })));

/** Both decoders on the same bytes: the same message, or both refuse. */
function same(bytes: Buffer): void {
  let want: GetStatusesRequest | undefined;
  try {
    want = fromBinary(GetStatusesRequestSchema, bytes);
  } catch {
    // refused
  }
  if (want === undefined) {
    expect(() => decodeGetStatusesRequest(bytes)).toThrow();
    return;
  }
  const got = decodeGetStatusesRequest(bytes);
  // The fast path's userIds is a getter on its class: compare what a handler reads.
  expect({ $typeName: got.$typeName, userIds: got.userIds }).toEqual({ $typeName: want.$typeName, userIds: want.userIds });
}

describe("GetStatusesRequest fast decoder", () => {
  it("keeps a list of valid ids as its bytes, reading as protobuf-es does", () => {
    const ids = Array.from({ length: 100 }, () => newId());
    const m = decodeGetStatusesRequest(wire(ids));
    expect(m).toBeInstanceOf(WireGetStatusesRequest);
    const w = m as WireGetStatusesRequest;
    expect(w.count).toBe(100);
    expect(w.bytes.toString("latin1", w.first + 99 * w.stride, w.first + 99 * w.stride + 26)).toBe(ids[99]);
    expect(m.userIds).toEqual(ids);
    expect(m.userIds).toBe(m.userIds); // made once
    same(wire(ids));
  });

  it("leaves everything else to protobuf-es", () => {
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
      let m: GetStatusesRequest | undefined;
      try {
        m = decodeGetStatusesRequest(bytes);
      } catch {
        // refused, as protobuf-es refuses it
      }
      if (m !== undefined) expect(m).not.toBeInstanceOf(WireGetStatusesRequest);
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
